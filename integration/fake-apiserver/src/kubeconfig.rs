//! Kubeconfig files pointing spawned programs at the server.

use serde_json::json;

/// The kubeconfig YAML for a server at `url` (plain HTTP, no credentials), with
/// `namespace` as the context's default namespace.
pub fn render(url: &str, namespace: &str) -> String {
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "ferrolb-fake", "cluster": {"server": url}}],
        "users": [{"name": "ferrolb-fake", "user": {}}],
        "contexts": [{"name": "ferrolb-fake", "context": {"cluster": "ferrolb-fake", "user": "ferrolb-fake", "namespace": namespace}}],
        "current-context": "ferrolb-fake",
        "preferences": {},
    });
    serde_yaml::to_string(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_a_kubeconfig() {
        let yaml = render("http://127.0.0.1:1234", "default");
        let kc = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("ferrolb-fake"));
        let cluster = kc.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("http://127.0.0.1:1234"));
    }
}
