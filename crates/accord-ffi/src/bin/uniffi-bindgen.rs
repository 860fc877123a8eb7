//! The bindings generator, built from the same UniFFI version as the library so the
//! generated Kotlin always matches it: `cargo run -p accord-ffi --bin uniffi-bindgen --
//! generate --library target/debug/libaccord_ffi.so --language kotlin --out-dir DIR`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
