//! A module's bytes: the file mapped read-only (the one `unsafe` block of the symbolizer).
//!
//! Mapping instead of reading saves copying ~25 MB per CPython module and faulting in as much
//! fresh memory: whole-process symbolization is ~20% faster (benches/README.md).

use std::fs::File;
use std::ops::Deref;

/// The bytes of a file, mapped (or empty, which cannot be mapped).
#[derive(Debug)]
pub(super) struct Image(Option<memmap2::Mmap>);

impl Image {
    /// Map `file`, whose length the caller checked is `length`.
    #[allow(unsafe_code)]
    pub(super) fn map(file: &File, length: u64) -> std::io::Result<Image> {
        if length == 0 {
            return Ok(Image(None));
        }
        // SAFETY: the mapping is private and read-only, and only ever read through `&[u8]`.
        // What breaks Rust's rules is the file changing while mapped. Bytes rewritten in place
        // only mislead the bounds-checked readers of `object` and `gimli` (wrong answers, no
        // out-of-bounds access); a file truncated in place makes reads past its new end raise
        // SIGBUS. Binaries are normally replaced, not rewritten: dpkg, `install` and the
        // linker write a new file and rename it over (or unlink) the old one, whose mapping
        // stays intact. Overwriting a module in place (`cp new old`) while leakcheck
        // symbolizes it is the accepted risk of not copying it.
        let map = unsafe { memmap2::Mmap::map(file) }?;
        Ok(Image(Some(map)))
    }
}

impl Deref for Image {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.as_deref().unwrap_or_default()
    }
}
