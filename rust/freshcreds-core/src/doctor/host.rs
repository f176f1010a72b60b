//! Whether this process runs in a container, from the files a container runtime leaves: where
//! the IMDSv2 hop limit of 1 drops the token `PUT`'s answer.

use std::path::Path;

/// Words in `/proc/self/cgroup` that name a container runtime or orchestrator.
const CGROUP_MARKERS: [&str; 6] = ["docker", "kubepods", "containerd", "libpod", "ecs", "lxc"];

/// The evidence that this is a container (`/.dockerenv exists`, `/proc/self/cgroup names
/// kubepods`, ...), or `None`. Reads under `root`.
pub fn container(root: &Path) -> Option<String> {
    for marker in [".dockerenv", "run/.containerenv"] {
        if root.join(marker).exists() {
            return Some(format!("/{marker} exists"));
        }
    }
    for file in ["proc/self/cgroup", "proc/1/cgroup"] {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else { continue };
        if let Some(word) = CGROUP_MARKERS.iter().find(|w| text.contains(*w)) {
            return Some(format!("/{file} names {word}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_podman_and_kubernetes_are_recognised_and_a_plain_host_is_not() {
        let root = std::env::temp_dir().join(format!("freshcreds-host-{}", std::process::id()));
        std::fs::create_dir_all(root.join("proc/self")).expect("mkdir");
        std::fs::write(root.join("proc/self/cgroup"), "0::/user.slice/user-1000.slice\n").expect("write");
        assert_eq!(container(&root), None);
        std::fs::write(root.join("proc/self/cgroup"), "0::/kubepods/besteffort/pod1234/abcd\n").expect("write");
        assert_eq!(container(&root).as_deref(), Some("/proc/self/cgroup names kubepods"));
        std::fs::write(root.join(".dockerenv"), "").expect("write");
        assert_eq!(container(&root).as_deref(), Some("/.dockerenv exists"));
        let _ = std::fs::remove_dir_all(&root);
    }
}
