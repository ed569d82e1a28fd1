//! template.yaml as the tests read it: each function's granted actions and
//! its HttpApi routes. The template keeps an `Action:` list and its
//! `Resource:` on one line each, and a route's `Path:` and `Method:` on
//! theirs, which this reading relies on (it fails loudly otherwise).

use std::collections::BTreeSet;

const TEMPLATE: &str = include_str!("../../template.yaml");

/// One action on one resource kind: the queue, for SQS.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    /// `dynamodb:GetItem`, `sqs:SendMessage`, …
    pub action: String,
    /// The queue's logical id, for SQS actions.
    pub queue: Option<String>,
}

impl Grant {
    pub fn new(action: &str, queue: Option<&str>) -> Self {
        Grant {
            action: action.to_owned(),
            queue: queue.map(str::to_owned),
        }
    }
}

impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.queue {
            Some(queue) => write!(f, "{} on {queue}", self.action),
            None => f.write_str(&self.action),
        }
    }
}

#[derive(Debug)]
pub struct Function {
    pub name: String,
    pub grants: BTreeSet<Grant>,
    /// (method, path) of each HttpApi event.
    pub routes: Vec<(String, String)>,
}

/// The value after `key:` on `line`, if the line is that key.
fn value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.trim_start()
        .trim_start_matches("- ")
        .strip_prefix(key)
        .and_then(|rest| rest.strip_prefix(':'))
        .map(str::trim)
}

/// Every `AWS::Serverless::Function` of the template.
pub fn functions() -> Vec<Function> {
    let lines: Vec<&str> = TEMPLATE.lines().collect();
    let mut functions = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let is_resource = line.starts_with("  ") && !line.starts_with("   ") && line.ends_with(':');
        if !is_resource
            || lines.get(i + 1).map(|l| l.trim()) != Some("Type: AWS::Serverless::Function")
        {
            continue;
        }
        let block: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| l.is_empty() || l.starts_with("   ") || l.trim_start().starts_with('#'))
            .copied()
            .collect();
        functions.push(function(line.trim().trim_end_matches(':'), &block));
    }
    assert!(!functions.is_empty(), "no function in template.yaml");
    functions
}

fn function(name: &str, block: &[&str]) -> Function {
    let mut grants = BTreeSet::new();
    let mut routes = Vec::new();
    for (i, line) in block.iter().enumerate() {
        if let Some(list) = value(line, "Action") {
            let actions = list
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .unwrap_or_else(|| panic!("{name}: an Action list on one line, not {list:?}"));
            let resource = block[i + 1..]
                .iter()
                .find_map(|l| value(l, "Resource"))
                .unwrap_or_else(|| panic!("{name}: no Resource after {list}"));
            for action in actions.split(',').map(str::trim) {
                let queue = action.starts_with("sqs:").then(|| {
                    let at = resource
                        .find("Queue.Arn")
                        .unwrap_or_else(|| panic!("{name}: {action} on no queue: {resource}"));
                    let start = resource[..at]
                        .rfind(|c: char| !c.is_ascii_alphanumeric())
                        .map_or(0, |p| p + 1);
                    format!("{}Queue", &resource[start..at])
                });
                grants.insert(Grant {
                    action: action.to_owned(),
                    queue,
                });
            }
        }
        if value(line, "Type") == Some("HttpApi") {
            let field = |key| {
                block[i + 1..]
                    .iter()
                    .take(6)
                    .find_map(|l| value(l, key))
                    .unwrap_or_else(|| panic!("{name}: an HttpApi event without {key}"))
                    .to_owned()
            };
            routes.push((field("Method"), field("Path")));
        }
    }
    Function {
        name: name.to_owned(),
        grants,
        routes,
    }
}

/// Whether an HttpApi route (`/twilio/{proxy+}`, `ANY`) takes a request.
pub fn route_takes(route: &(String, String), method: &str, path: &str) -> bool {
    let (route_method, route_path) = route;
    if route_method != "ANY" && !route_method.eq_ignore_ascii_case(method) {
        return false;
    }
    match route_path.strip_suffix("{proxy+}") {
        Some(prefix) => path.starts_with(prefix) && path.len() > prefix.len(),
        None => route_path == path,
    }
}
