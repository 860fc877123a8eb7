plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.serialization")
}

android {
    namespace = "dev.accord.sample"
    compileSdk = 35
    defaultConfig {
        applicationId = "dev.accord.sample"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        // The ABIs `make android` builds libaccord_ffi for. JNA's AAR carries more (x86,
        // and others): without the filter a device of such an ABI installs the app and
        // crashes with UnsatisfiedLinkError at the first Accord call.
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
        buildConfigField("String", "ACCORD_SERVER_URL", "\"${property("accordServerUrl")}\"")
        buildConfigField("String", "ACCORD_TOKEN", "\"${property("accordToken")}\"")
        buildConfigField("String", "ACCORD_SPACE", "\"${property("accordSpace")}\"")
    }
    buildFeatures { buildConfig = true }
    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    testOptions { unitTests.isIncludeAndroidResources = true }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions { jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17) }
}

dependencies {
    implementation(project(":accord"))
    implementation("androidx.appcompat:appcompat:1.7.0")
    implementation("androidx.activity:activity-ktx:1.9.3")
    implementation("androidx.lifecycle:lifecycle-runtime-ktx:2.8.7")
    implementation("androidx.work:work-runtime-ktx:2.10.0")

    // app/src/test: SyncWorker under Robolectric against a real `accord serve`, with the
    // host build of libaccord_ffi (`make test-android` runs the same without Gradle).
    testImplementation("junit:junit:4.13.2")
    testImplementation("org.robolectric:robolectric:4.16")
}
