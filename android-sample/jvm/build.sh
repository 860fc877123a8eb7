#!/usr/bin/env bash
# The Android sample compiled against the real Android API, and its WorkManager job run
# under Robolectric, with no Android SDK and no Gradle (neither is to be had here).
#
#   build.sh compile   resources linked by aapt2 against Android 15 (API 35); the
#                      UniFFI-generated Kotlin plus bindings/kotlin compiled as the AAR
#                      module would be, then android-sample/app with warnings as errors;
#                      then a file that misuses the Android API must be refused.
#   build.sh test      compile, then app/src/test under Robolectric (JUnit 4), with the
#                      host build of libaccord_ffi through JNA and a real `accord serve`.
#
# Everything comes from Maven (pom.xml beside this file: AndroidX AARs, Robolectric's
# android-all as the framework, aapt2, the Kotlin compiler). What this does not do: dex,
# R8, an APK or an AAR; those need the Android SDK's d8/R8 and Gradle.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SAMPLE="$ROOT/android-sample"
OUT="$HERE/build"
MVN="${MVN:-mvn}"
CARGO_TARGET="${ACCORD_TARGET:-$ROOT/target/debug}"
GENERATED="$ROOT/bindings/kotlin/target/generated-sources/uniffi"
MODE="${1:-test}"

say() { printf '== %s\n' "$*"; }

# 1. Artifacts, one Maven profile per role, each into a folder of its own.
resolve() {
    for profile in app sdk tools test; do
        local dir="$OUT/deps/$profile"
        # The pom is the lock: refetch only when it changed.
        if [ -f "$dir/.pom" ] && cmp -s "$dir/.pom" "$HERE/pom.xml"; then continue; fi
        rm -rf "$dir"
        say "resolving $profile"
        "$MVN" -q -B -Dstyle.color=never -f "$HERE/pom.xml" -P "$profile" dependency:copy-dependencies \
            -DoutputDirectory="$dir"
        cp "$HERE/pom.xml" "$dir/.pom"
    done
    ANDROID_JAR="$(ls "$OUT"/deps/sdk/android-all-*.jar)"
    SERIALIZATION_PLUGIN="$(ls "$OUT"/deps/tools/kotlin-serialization-compiler-plugin-embeddable-*.jar)"
}

# 2. Each AAR unpacked: its classes (and any jars inside) for the classpath, its res/
#    and manifest for aapt2.
unpack_aars() {
    rm -rf "$OUT/aars"
    mkdir -p "$OUT/aars"
    APP_CLASSPATH=()
    for f in "$OUT"/deps/app/*; do
        case "$f" in
        *.aar)
            local d="$OUT/aars/$(basename "$f" .aar)"
            mkdir -p "$d"
            unzip -q -o "$f" -d "$d"
            if [ -f "$d/classes.jar" ]; then APP_CLASSPATH+=("$d/classes.jar"); fi
            for j in "$d"/libs/*.jar; do
                if [ -f "$j" ]; then APP_CLASSPATH+=("$j"); fi
            done
            ;;
        *.jar) APP_CLASSPATH+=("$f") ;;
        esac
    done
}

# 3. Resources: every library's res/ and the app's compiled and linked into one resource
#    APK, with R classes for the app and each library package (what AGP does).
link_resources() {
    local aapt2_dir="$OUT/aapt2"
    rm -rf "$aapt2_dir" "$OUT/gen"
    mkdir -p "$aapt2_dir/flat" "$OUT/gen"
    unzip -q -o "$(ls "$OUT"/deps/tools/aapt2-*-linux.jar)" aapt2 -d "$aapt2_dir"
    chmod +x "$aapt2_dir/aapt2"
    local aapt2="$aapt2_dir/aapt2"
    local overlays=() packages=()
    for d in "$OUT"/aars/*/; do
        [ -d "$d/res" ] || continue
        local name
        name="$(basename "$d")"
        "$aapt2" compile --dir "$d/res" -o "$aapt2_dir/flat/$name.zip"
        overlays+=(-R "$aapt2_dir/flat/$name.zip")
        packages+=("$(sed -n 's/.*package="\([^"]*\)".*/\1/p' "$d/AndroidManifest.xml" | head -1)")
    done
    "$aapt2" compile --dir "$SAMPLE/app/src/main/res" -o "$aapt2_dir/flat/app.zip"
    # The one step of AGP's manifest merge that aapt2 needs: the namespace as `package`.
    sed 's|<manifest |<manifest package="dev.accord.sample" |' \
        "$SAMPLE/app/src/main/AndroidManifest.xml" >"$OUT/AndroidManifest.xml"
    local extra
    extra="$(IFS=:; echo "${packages[*]}")"
    "$aapt2" link -I "$ANDROID_JAR" --manifest "$OUT/AndroidManifest.xml" \
        --min-sdk-version 24 --target-sdk-version 35 --version-code 1 --version-name 0.1.0 \
        --auto-add-overlay "${overlays[@]}" "$aapt2_dir/flat/app.zip" \
        --java "$OUT/gen" --extra-packages "$extra" -o "$OUT/app.ap_"
}

# BuildConfig as AGP writes it for app/build.gradle.kts (values from gradle.properties).
write_build_config() {
    local prop
    prop() { sed -n "s/^$1=//p" "$SAMPLE/gradle.properties"; }
    mkdir -p "$OUT/gen/dev/accord/sample"
    cat >"$OUT/gen/dev/accord/sample/BuildConfig.java" <<EOF
package dev.accord.sample;
public final class BuildConfig {
  public static final boolean DEBUG = true;
  public static final String APPLICATION_ID = "dev.accord.sample";
  public static final String BUILD_TYPE = "debug";
  public static final int VERSION_CODE = 1;
  public static final String VERSION_NAME = "0.1.0";
  public static final String ACCORD_SERVER_URL = "$(prop accordServerUrl)";
  public static final String ACCORD_TOKEN = "$(prop accordToken)";
  public static final String ACCORD_SPACE = "$(prop accordSpace)";
}
EOF
}

classpath() { local IFS=:; echo "$*"; }

# Robolectric's android-all carries the framework, not libcore: java.* comes from the
# JDK (17, the level Android 15's libcore follows), so a JDK-only API such as java.awt
# would pass here where d8 or lint would stop it.
kotlinc() {
    java -cp "$(classpath "$OUT"/deps/tools/*.jar)" org.jetbrains.kotlin.cli.jvm.K2JVMCompiler \
        -no-stdlib -no-reflect -jvm-target 17 -Xplugin="$SERIALIZATION_PLUGIN" "$@"
}

# What Gradle would only find out on a machine that has it: the wrapper's Gradle is one
# the pinned Android Gradle plugin runs on (AGP 8.7 needs 8.9+), and the ABIs the app
# packs are the ones `make android` builds (ANDROID_ABIS).
check_gradle_files() {
    local agp gradle
    agp="$(sed -n 's/.*id("com.android.application") version "\([0-9.]*\)".*/\1/p' "$SAMPLE/build.gradle.kts")"
    gradle="$(sed -n 's/.*gradle-\([0-9.]*\)-bin.zip/\1/p' "$SAMPLE/gradle/wrapper/gradle-wrapper.properties")"
    case "$agp" in
    8.7.*) [ "$(printf '%s\n' 8.9 "$gradle" | sort -V | head -1)" = 8.9 ] && [ "${gradle%%.*}" = 8 ] || {
        echo "FAILED: Gradle $gradle in gradle-wrapper.properties does not run AGP $agp (8.9 to 8.x)" >&2
        exit 1
    } ;;
    *) echo "FAILED: AGP $agp: add its Gradle range to check_gradle_files" >&2; exit 1 ;;
    esac
    if [ -n "${ANDROID_ABIS:-}" ]; then
        local filters
        filters="$(sed -n 's/.*abiFilters += listOf(\(.*\)).*/\1/p' "$SAMPLE/app/build.gradle.kts" | tr -d '", ' )"
        [ "$filters" = "$(echo "$ANDROID_ABIS" | tr -d ' ')" ] || {
            echo "FAILED: app abiFilters ($filters) differ from ANDROID_ABIS ($ANDROID_ABIS)" >&2
            exit 1
        }
    fi
    say "Gradle $gradle runs AGP $agp; abiFilters match the ABIs make android builds"
}

compile() {
    check_gradle_files
    resolve
    unpack_aars
    say "aapt2: linking the app's resources against Android API 35"
    link_resources
    write_build_config
    rm -rf "$OUT/classes"
    mkdir -p "$OUT/classes/r" "$OUT/classes/accord" "$OUT/classes/app"
    # R and BuildConfig: what AGP generates, compiled as AGP does (javac).
    find "$OUT/gen" -name '*.java' >"$OUT/gen-sources.txt"
    javac -nowarn -encoding UTF-8 --release 17 -d "$OUT/classes/r" @"$OUT/gen-sources.txt"
    COMPILE_CLASSPATH="$(classpath "$ANDROID_JAR" "${APP_CLASSPATH[@]}")"

    [ -d "$GENERATED/dev/accord" ] || {
        echo "no generated bindings in $GENERATED: run \`make bindings\` first" >&2
        exit 1
    }
    say "kotlinc: the accord module (UniFFI-generated Kotlin + bindings/kotlin) against API 35"
    kotlinc -classpath "$COMPILE_CLASSPATH" -d "$OUT/classes/accord" \
        "$GENERATED" "$ROOT/bindings/kotlin/src/main/kotlin"
    say "kotlinc: android-sample/app against API 35, AndroidX and the accord module (-Werror)"
    kotlinc -Werror -classpath "$COMPILE_CLASSPATH:$OUT/classes/r:$OUT/classes/accord" \
        -d "$OUT/classes/app" "$SAMPLE/app/src/main/kotlin"

    # The step must be able to fail: code that misuses the Android API is refused.
    say "kotlinc: a misuse of the Android API must be refused"
    local log="$OUT/misuse.log"
    if kotlinc -classpath "$COMPILE_CLASSPATH:$OUT/classes/r:$OUT/classes/accord:$OUT/classes/app" \
        -d "$OUT/classes/misuse" "$HERE/misuse" >"$log" 2>&1; then
        echo "FAILED: kotlinc accepted android-sample/jvm/misuse, which misuses the Android API" >&2
        exit 1
    fi
    local expected
    for expected in "argument type mismatch" "unresolved reference 'setRequiresNetwork'"; do
        grep -q "$expected" "$log" || {
            echo "FAILED: kotlinc refused misuse/ but not with '$expected':" >&2
            cat "$log" >&2
            exit 1
        }
    done
    say "compiled: app and accord module against API 35; the misuse was refused"
}

run_tests() {
    say "kotlinc: app/src/test (Robolectric)"
    # Robolectric's own AARs (androidx.test monitor) contribute their classes.jar.
    local test_jars=("$OUT"/deps/test/*.jar) f
    for f in "$OUT"/deps/test/*.aar; do
        local d="$OUT/aars/test-$(basename "$f" .aar)"
        mkdir -p "$d"
        unzip -q -o "$f" classes.jar -d "$d"
        test_jars+=("$d/classes.jar")
    done
    local test_deps
    test_deps="$(classpath "${test_jars[@]}")"
    local cp="$COMPILE_CLASSPATH:$OUT/classes/r:$OUT/classes/accord:$OUT/classes/app:$test_deps"
    rm -rf "$OUT/classes/test"
    mkdir -p "$OUT/classes/test/com/android/tools"
    kotlinc -classpath "$cp" -d "$OUT/classes/test" "$SAMPLE/app/src/test/kotlin" \
        "$ROOT/bindings/kotlin/src/test/kotlin/dev/accord/client/TestServer.kt" "$HERE/RunTests.kt"
    # Where Robolectric finds the app's manifest and linked resources (AGP writes this
    # file for unitTests.isIncludeAndroidResources).
    cat >"$OUT/classes/test/com/android/tools/test_config.properties" <<EOF
android_merged_manifest=$OUT/AndroidManifest.xml
android_resource_apk=$OUT/app.ap_
android_custom_package=dev.accord.sample
EOF
    # Robolectric runs the instrumented Android 15 jar Maven fetched, never a download.
    # Runtime order: the instrumented framework is Robolectric's, so android-all leaves.
    local runtime
    runtime="$(classpath "${APP_CLASSPATH[@]}")"
    say "Robolectric: SyncWorker against a real accord serve"
    java -Djna.library.path="$CARGO_TARGET" -Daccord.bin="$CARGO_TARGET/accord" \
        -Drobolectric.offline=true -Drobolectric.dependency.dir="$OUT/deps/test" \
        -Drobolectric.logging.enabled=false \
        -cp "$OUT/classes/test:$OUT/classes/app:$OUT/classes/accord:$OUT/classes/r:$runtime:$test_deps" \
        dev.accord.sample.RunTestsKt
}

case "$MODE" in
compile) compile ;;
test)
    compile
    run_tests
    ;;
*)
    echo "usage: $0 compile|test" >&2
    exit 2
    ;;
esac
