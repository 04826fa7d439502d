//! `templates/saml-federation.yaml` rendered as CloudFormation renders it, so that the events the
//! tests send are the ones the project's own template produces — not property maps we wrote.
//!
//! What CloudFormation does, and this module does the same
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>):
//! parameters take their `Default` unless given; `CommaDelimitedList` parameters are lists (`""`
//! is `[""]`); `Conditions` are evaluated once per operation; `Ref`, `Fn::GetAtt`, `Fn::Sub`
//! (both forms), `Fn::If`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::Equals`, `Fn::Not`,
//! `Fn::And`, `Fn::Or` and `Condition` are resolved; `AWS::NoValue` removes the property or list
//! element; a resource whose `Condition` is false does not exist. `Ref` of a custom resource is the
//! PhysicalResourceId its function answered, `Fn::GetAtt` reads the `Data` it answered
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html>).
//! Custom-resource properties reach the function with every scalar as a string — numbers and
//! booleans converted — and with `ServiceToken` and `ServiceTimeout` among them
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html>).
//!
//! [`TemplateStack`] then plays CloudFormation's part over a template's custom resources: Create in
//! dependency order (a failed Create rolls back with a Delete of what was answered), Update of
//! what changed (a new physical id is a replacement, whose old resource gets its Delete in the
//! cleanup phase after every update), Delete in reverse order. Resources that are not custom
//! (`AWS::Lambda::Function`, …) are not run: their `Ref`/`Fn::GetAtt` resolve to what AWS would
//! return for them in the test's account.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};
use serde_norway::Value as Yaml;

/// The project's single-account template.
pub const FEDERATION_TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/saml-federation.yaml");

/// A template, loaded and turned into JSON with the short-form tags (`!Ref`, `!Sub`, …) written
/// out as their long forms (`{"Ref": …}`, `{"Fn::Sub": …}`).
#[derive(Debug, Clone)]
pub struct Template {
    pub body: Value,
}

impl Template {
    pub fn load(path: &str) -> Template {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        let yaml: Yaml = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"));
        Template { body: long_form(yaml) }
    }

    pub fn federation() -> Template {
        Template::load(FEDERATION_TEMPLATE)
    }

    /// The template as a user would edit it: `property` of `logical_id` set to `value` (e.g. a
    /// different `ServiceTimeout`).
    pub fn with_property(mut self, logical_id: &str, property: &str, value: Value) -> Template {
        let properties = &mut self.body["Resources"][logical_id]["Properties"];
        assert!(properties.is_object(), "{logical_id} has no Properties in the template");
        properties[property] = value;
        self
    }

    /// The logical ids of the custom resources (`Custom::…` or `AWS::CloudFormation::CustomResource`),
    /// in template order.
    pub fn custom_resources(&self) -> Vec<String> {
        self.resources()
            .iter()
            .filter(|(_, r)| is_custom(r["Type"].as_str().unwrap_or_default()))
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn resources(&self) -> &Map<String, Value> {
        self.body["Resources"].as_object().expect("the template has Resources")
    }

    fn parameter_names(&self) -> Vec<String> {
        self.body["Parameters"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default()
    }
}

fn is_custom(resource_type: &str) -> bool {
    resource_type.starts_with("Custom::") || resource_type == "AWS::CloudFormation::CustomResource"
}

/// YAML with CloudFormation's short-form tags → JSON with the long forms.
fn long_form(yaml: Yaml) -> Value {
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(long_form).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s,
                        other => serde_norway::to_string(&other).unwrap_or_default().trim().to_string(),
                    };
                    (key, long_form(v))
                })
                .collect(),
        ),
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = long_form(tagged.value);
            // `!GetAtt A.B` is the short form of `Fn::GetAtt: [A, B]`.
            let value = match (name, value) {
                ("GetAtt", Value::String(s)) => {
                    let (resource, attribute) = s.split_once('.').expect("!GetAtt Resource.Attribute");
                    json!([resource, attribute])
                }
                (_, value) => value,
            };
            let key = if matches!(name, "Ref" | "Condition") { name.to_string() } else { format!("Fn::{name}") };
            json!({ key: value })
        }
    }
}

/// Where the stack lives and what the template's non-custom resources resolve to.
#[derive(Debug, Clone)]
pub struct StackContext {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub stack_name: String,
    pub stack_id: String,
    /// `!GetAtt Function.Arn`: the ServiceToken of the custom resources.
    pub function_arn: String,
}

/// What one custom resource answered, as CloudFormation keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    pub physical_id: String,
    pub data: Map<String, Value>,
}

/// The template resolved for one set of parameters: conditions, and the custom resources'
/// properties as the function receives them.
pub struct Rendering<'a> {
    template: &'a Template,
    context: &'a StackContext,
    parameters: BTreeMap<String, Value>,
    conditions: BTreeMap<String, bool>,
    answered: &'a BTreeMap<String, Answered>,
}

impl<'a> Rendering<'a> {
    pub fn new(
        template: &'a Template,
        context: &'a StackContext,
        given: &BTreeMap<String, String>,
        answered: &'a BTreeMap<String, Answered>,
    ) -> Rendering<'a> {
        let mut parameters = BTreeMap::new();
        for name in template.parameter_names() {
            let declaration = &template.body["Parameters"][&name];
            let text = match (given.get(&name), &declaration["Default"]) {
                (Some(v), _) => v.clone(),
                (None, Value::Null) => panic!("parameter {name} has no default and was not given"),
                (None, default) => scalar_text(default),
            };
            let value = if declaration["Type"] == "CommaDelimitedList" {
                Value::Array(text.split(',').map(|s| Value::String(s.to_string())).collect())
            } else {
                Value::String(text)
            };
            parameters.insert(name, value);
        }
        for name in given.keys() {
            assert!(parameters.contains_key(name), "the template has no parameter {name}");
        }
        let mut rendering = Rendering { template, context, parameters, conditions: BTreeMap::new(), answered };
        let names: Vec<String> =
            template.body["Conditions"].as_object().map(|c| c.keys().cloned().collect()).unwrap_or_default();
        for name in names {
            let value = rendering.condition(&name);
            rendering.conditions.insert(name, value);
        }
        rendering
    }

    /// Whether the resource exists under these parameters (its `Condition`, if any).
    pub fn exists(&self, logical_id: &str) -> bool {
        match self.template.resources()[logical_id]["Condition"].as_str() {
            Some(condition) => self.condition(condition),
            None => true,
        }
    }

    /// The resource's properties as CloudFormation sends them to a custom resource's function.
    pub fn properties(&self, logical_id: &str) -> Map<String, Value> {
        let raw = &self.template.resources()[logical_id]["Properties"];
        match self.resolve(raw).map(stringify) {
            Some(Value::Object(map)) => map,
            other => panic!("{logical_id}'s properties resolved to {other:?}"),
        }
    }

    /// Any resolved value of the template, at a JSON pointer (e.g. a rule's target `Input`).
    pub fn value_at(&self, pointer: &str) -> Option<Value> {
        self.template.body.pointer(pointer).and_then(|v| self.resolve(v))
    }

    /// The stack's Outputs whose condition holds, resolved.
    pub fn outputs(&self) -> BTreeMap<String, Value> {
        let mut outputs = BTreeMap::new();
        for (name, output) in self.template.body["Outputs"].as_object().into_iter().flatten() {
            if output["Condition"].as_str().is_some_and(|c| !self.condition(c)) {
                continue;
            }
            if let Some(value) = self.resolve(&output["Value"]) {
                outputs.insert(name.clone(), value);
            }
        }
        outputs
    }

    /// The custom resources that `logical_id`'s properties name through `Ref`/`Fn::GetAtt`/`Fn::Sub`.
    pub fn dependencies(&self, logical_id: &str) -> BTreeSet<String> {
        let customs: BTreeSet<String> = self.template.custom_resources().into_iter().collect();
        let mut found = BTreeSet::new();
        collect_references(&self.template.resources()[logical_id]["Properties"], &mut found);
        found.intersection(&customs).cloned().collect()
    }

    fn condition(&self, name: &str) -> bool {
        if let Some(value) = self.conditions.get(name) {
            return *value;
        }
        let definition = &self.template.body["Conditions"][name];
        self.truth(definition)
    }

    fn truth(&self, value: &Value) -> bool {
        match self.resolve(value) {
            Some(Value::Bool(b)) => b,
            other => panic!("a condition resolved to {other:?}, not a boolean: {value}"),
        }
    }

    /// Resolves intrinsic functions; `None` is `AWS::NoValue` (the property is left out).
    fn resolve(&self, value: &Value) -> Option<Value> {
        let Value::Object(map) = value else {
            return match value {
                Value::Array(items) => Some(Value::Array(items.iter().filter_map(|v| self.resolve(v)).collect())),
                other => Some(other.clone()),
            };
        };
        if map.len() == 1 {
            let (name, argument) = map.iter().next().expect("one entry");
            if let Some(resolved) = self.intrinsic(name, argument) {
                return resolved;
            }
        }
        Some(Value::Object(map.iter().filter_map(|(k, v)| self.resolve(v).map(|v| (k.clone(), v))).collect()))
    }

    /// `Some(result)` if `name` is an intrinsic function, `None` if it is an ordinary key.
    fn intrinsic(&self, name: &str, argument: &Value) -> Option<Option<Value>> {
        let args = || argument.as_array().unwrap_or_else(|| panic!("{name} takes a list: {argument}"));
        let resolved = |v: &Value| self.resolve(v).unwrap_or_else(|| panic!("{name} of AWS::NoValue"));
        let text = |v: &Value| scalar_text(&resolved(v));
        Some(match name {
            "Ref" => self.reference(argument.as_str().expect("Ref names a string")),
            "Condition" => Some(Value::Bool(self.condition(argument.as_str().expect("Condition names a string")))),
            "Fn::GetAtt" => {
                let (resource, attribute) = (args()[0].as_str().expect("resource"), args()[1].as_str().expect("attr"));
                Some(self.attribute(resource, attribute))
            }
            "Fn::If" => {
                let branch = if self.condition(args()[0].as_str().expect("condition name")) { 1 } else { 2 };
                self.resolve(&args()[branch])
            }
            "Fn::Equals" => Some(Value::Bool(resolved(&args()[0]) == resolved(&args()[1]))),
            "Fn::Not" => Some(Value::Bool(!self.truth(&args()[0]))),
            "Fn::And" => Some(Value::Bool(args().iter().all(|c| self.truth(c)))),
            "Fn::Or" => Some(Value::Bool(args().iter().any(|c| self.truth(c)))),
            "Fn::Join" => {
                let separator = text(&args()[0]);
                let items = match resolved(&args()[1]) {
                    Value::Array(items) => items,
                    other => panic!("Fn::Join of {other}"),
                };
                Some(Value::String(items.iter().map(scalar_text).collect::<Vec<_>>().join(&separator)))
            }
            "Fn::Select" => {
                let index: usize = text(&args()[0]).parse().expect("Fn::Select index");
                match resolved(&args()[1]) {
                    Value::Array(items) => Some(items[index].clone()),
                    other => panic!("Fn::Select of {other}"),
                }
            }
            "Fn::Split" => {
                let (separator, source) = (text(&args()[0]), text(&args()[1]));
                Some(Value::Array(source.split(separator.as_str()).map(|s| json!(s)).collect()))
            }
            "Fn::Sub" => Some(Value::String(match argument {
                Value::String(s) => self.substitute(s, &Map::new()),
                Value::Array(parts) => {
                    let variables = match resolved(&parts[1]) {
                        Value::Object(map) => map,
                        other => panic!("Fn::Sub variables {other}"),
                    };
                    self.substitute(parts[0].as_str().expect("Fn::Sub string"), &variables)
                }
                other => panic!("Fn::Sub of {other}"),
            })),
            _ if name.starts_with("Fn::") => panic!("the test renderer does not know {name}: add it"),
            _ => return None,
        })
    }

    /// `${Name}`, `${Resource.Attribute}` and `${!Literal}`, as Fn::Sub replaces them.
    fn substitute(&self, template: &str, variables: &Map<String, Value>) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').unwrap_or_else(|| panic!("unclosed ${{ in {template}"));
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(value) = variables.get(name) {
                out.push_str(&scalar_text(value));
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&scalar_text(&self.attribute(resource, attribute)));
            } else {
                let value = self.reference(name).unwrap_or_else(|| panic!("${{{name}}} is AWS::NoValue"));
                out.push_str(&scalar_text(&value));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn reference(&self, name: &str) -> Option<Value> {
        let c = self.context;
        Some(match name {
            "AWS::NoValue" => return None,
            "AWS::Partition" => json!(c.partition),
            "AWS::Region" => json!(c.region),
            "AWS::AccountId" => json!(c.account),
            "AWS::StackName" => json!(c.stack_name),
            "AWS::StackId" => json!(c.stack_id),
            "AWS::URLSuffix" => json!("amazonaws.com"),
            _ => {
                if let Some(value) = self.parameters.get(name) {
                    return Some(value.clone());
                }
                match self.template.resources().get(name).map(|r| r["Type"].as_str().unwrap_or_default()) {
                    Some(t) if is_custom(t) => json!(self.answer_of(name).physical_id),
                    Some("AWS::Lambda::Function") => json!(c.function_arn.rsplit(':').next().unwrap_or_default()),
                    Some(other) => json!(format!("{name}-{other}-physical-id")),
                    None => panic!("Ref to {name}, which is neither a parameter nor a resource"),
                }
            }
        })
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Value {
        let c = self.context;
        let resource_type = self.template.resources()[resource]["Type"].as_str().unwrap_or_default();
        match (resource_type, attribute) {
            (t, _) if is_custom(t) => self
                .answer_of(resource)
                .data
                .get(attribute)
                .cloned()
                .unwrap_or_else(|| panic!("{resource} answered no Data attribute {attribute}")),
            ("AWS::Lambda::Function", "Arn") => json!(c.function_arn),
            (t, "Arn") => json!(format!(
                "arn:{}:{}:{}:{}:{resource}",
                c.partition,
                t.split("::").nth(1).unwrap_or_default().to_ascii_lowercase(),
                c.region,
                c.account
            )),
            (t, a) => panic!("the test renderer has no value for {t}.{a}"),
        }
    }

    fn answer_of(&self, logical_id: &str) -> &Answered {
        self.answered.get(logical_id).unwrap_or_else(|| panic!("{logical_id} was referenced before it answered"))
    }
}

fn collect_references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("Ref", Value::String(name)) => {
                        found.insert(name.clone());
                    }
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        found.extend(parts.first().and_then(Value::as_str).map(str::to_string));
                    }
                    ("Fn::Sub", v) => {
                        let text = v.as_str().or_else(|| v.get(0).and_then(Value::as_str)).unwrap_or_default();
                        for piece in text.split("${").skip(1) {
                            let name = piece.split('}').next().unwrap_or_default();
                            found.insert(name.split('.').next().unwrap_or_default().to_string());
                        }
                        collect_references(v, found);
                    }
                    _ => collect_references(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, found)),
        _ => {}
    }
}

/// A scalar as CloudFormation turns it into a string (`300` → `"300"`, `true` → `"true"`).
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("{other} is not a scalar"),
    }
}

/// Every scalar inside `value` as a string, lists and maps kept: what a custom resource receives.
pub fn stringify(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(stringify).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, stringify(v))).collect()),
        Value::Null => Value::Null,
        scalar => Value::String(scalar_text(&scalar)),
    }
}
