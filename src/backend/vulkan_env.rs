//! Keeping Mesa's Vulkan device-select layer quiet where it can only print noise.
//!
//! Mesa ships an implicit Vulkan layer, `VK_LAYER_MESA_device_select`, that every Vulkan
//! instance on a machine with `mesa-vulkan-drivers` loads. To order the devices it asks the
//! display server which GPU drives the screen, calling `wl_display_connect`; without a
//! session (`XDG_RUNTIME_DIR` unset or not an absolute path: SSH, cron, Slurm, containers, CI)
//! libwayland prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment." to
//! stderr, twice per enumeration (found with gdb, breaking on `write` under `toongan devices`).
//! Without a session there is no screen to pick a GPU for, so the layer has nothing to decide;
//! Mesa's documented switch `NODEVICE_SELECT=1` skips it. A user who steers the layer
//! (`MESA_VK_DEVICE_SELECT`, `DRI_PRIME`) or set `NODEVICE_SELECT` keeps their choice.

/// Sets `NODEVICE_SELECT=1` when there is no desktop session for Mesa's device-select layer
/// to ask and the user has not configured the layer; otherwise changes nothing. Returns
/// whether it set the variable.
///
/// # Safety
/// Changes the process environment: call it before any other thread exists (first thing in
/// `main`), as [`std::env::set_var`] requires.
pub unsafe fn quiet_mesa_device_select() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some();
    if set("NODEVICE_SELECT") || set("MESA_VK_DEVICE_SELECT") || set("DRI_PRIME") {
        return false;
    }
    if has_session(std::env::var_os("XDG_RUNTIME_DIR").as_deref()) {
        return false;
    }
    // SAFETY: the caller guarantees no other thread reads or writes the environment.
    unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    true
}

/// Whether `XDG_RUNTIME_DIR` is one libwayland accepts (set and absolute), so that a display
/// server may be asked.
fn has_session(xdg_runtime_dir: Option<&std::ffi::OsStr>) -> bool {
    xdg_runtime_dir.is_some_and(|dir| std::path::Path::new(dir).is_absolute())
}

#[cfg(test)]
mod tests {
    use super::has_session;
    use std::ffi::OsStr;

    #[test]
    fn only_an_absolute_runtime_dir_counts_as_a_session() {
        assert!(has_session(Some(OsStr::new("/run/user/1000"))));
        assert!(!has_session(None));
        assert!(!has_session(Some(OsStr::new(""))));
        assert!(!has_session(Some(OsStr::new("run/user/1000"))));
    }
}
