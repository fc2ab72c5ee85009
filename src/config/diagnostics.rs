//! placeholder
use super::Config;
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub suggestion: Option<String>,
}
#[derive(Debug, Clone)]
pub struct LintReport {
    pub file: String,
    pub findings: Vec<Finding>,
    pub config: Option<Config>,
}
impl LintReport {
    pub fn is_valid(&self) -> bool {
        self.config.is_some()
    }
    pub fn render_text(&self) -> String {
        String::new()
    }
    pub fn render_json(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}
