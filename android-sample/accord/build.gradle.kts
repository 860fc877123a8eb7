// The Accord Android library (AAR): the Kotlin layer tested on the JVM in
// bindings/kotlin, the Kotlin UniFFI generates there (`make bindings`), and the
// native libraries `make android` cross-compiles into src/main/jniLibs.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.serialization")
}

android {
    namespace = "dev.accord"
    compileSdk = 35
    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].kotlin.srcDirs(
        "../../bindings/kotlin/src/main/kotlin",
        "../../bindings/kotlin/target/generated-sources/uniffi",
    )
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    packaging {
        // 16 KB page devices load the libraries straight from the APK.
        jniLibs.useLegacyPackaging = false
    }
}

kotlin {
    compilerOptions { jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17) }
}

dependencies {
    // JNA's Android build carries its own libjnidispatch.so per ABI.
    api("net.java.dev.jna:jna:5.18.1@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
    api("org.jetbrains.kotlinx:kotlinx-serialization-json:1.12.0")
}
