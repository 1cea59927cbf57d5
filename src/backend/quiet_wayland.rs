//! Placeholder: filled in once the source of the "XDG_RUNTIME_DIR is invalid" message is known.

/// Called before wgpu creates an instance.
pub(crate) fn ensure_runtime_dir() {}
