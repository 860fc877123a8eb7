# The Android sample without an Android SDK or Gradle (issue 14), part of `make test`:
# aapt2 links its resources against Android 15 (API 35, Robolectric's android-all), and
# kotlinc compiles the UniFFI-generated Kotlin, bindings/kotlin and android-sample/app
# against it and the AndroidX AARs, all from Maven; a file that misuses the Android API
# must be refused. Then SyncWorker runs under Robolectric with the host libaccord_ffi
# through JNA against a real `accord serve`. No dex, APK or AAR: that needs the SDK.
#
#   make compile-android   the compile step alone
#   make test-android      compile, then the Robolectric tests

.PHONY: compile-android test-android

TEST_TARGETS += test-android

compile-android: bindings
	ANDROID_ABIS="$(ANDROID_ABIS)" MVN=$(MVN) bash android-sample/jvm/build.sh compile

test-android: bindings
	ANDROID_ABIS="$(ANDROID_ABIS)" MVN=$(MVN) bash android-sample/jvm/build.sh test
