// The Accord notes sample: `accord` packs the bindings (generated Kotlin, the
// hand-written layer and the cargo-ndk libraries) as an AAR; `app` is the notes app.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "accord-sample"
include(":accord", ":app")
