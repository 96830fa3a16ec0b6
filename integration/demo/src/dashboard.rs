//! The Grafana dashboard in `deploy/grafana/ferrolb.json`: which metrics it
//! queries, so that a test can check the daemons export every one.

use std::collections::BTreeSet;

use serde_json::Value;

/// The dashboard, built into the binary.
pub const DASHBOARD: &str = include_str!("../../../deploy/grafana/ferrolb.json");

/// Metric names (`ferrolb_...`) in the PromQL of every panel's targets.
pub fn queried_metrics(dashboard: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let panels = dashboard["panels"].as_array().into_iter().flatten();
    for target in panels.flat_map(|p| p["targets"].as_array().into_iter().flatten()) {
        let expr = target["expr"].as_str().unwrap_or_default();
        for (i, _) in expr.match_indices("ferrolb_") {
            let name: String = expr
                .get(i..)
                .unwrap_or_default()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            names.insert(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_metric_names_in_panel_queries() {
        let dashboard = serde_json::json!({"panels": [
            {"targets": [{"expr": "sum(ferrolb_router_routes_installed) by (instance)"}]},
            {"targets": [{"expr": "rate(ferrolb_router_lb_backend_connections_total[5m]) / ferrolb_x"}]},
            {"title": "row without targets"}
        ]});
        let names: Vec<String> = queried_metrics(&dashboard).into_iter().collect();
        assert_eq!(
            names,
            [
                "ferrolb_router_lb_backend_connections_total",
                "ferrolb_router_routes_installed",
                "ferrolb_x"
            ]
        );
        let shipped: Value = serde_json::from_str(DASHBOARD).unwrap();
        assert!(queried_metrics(&shipped).len() >= 5);
    }
}
