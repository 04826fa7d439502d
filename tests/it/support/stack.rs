//! CloudFormation's part in a stack's life, played over a template's custom resources: the events
//! it sends, in the order it sends them, with the properties the template renders to.
//!
//! The order follows AWS's stack-operation documentation: on Create, resources in dependency
//! order, and on a failed Create a rollback that deletes, in reverse order, every resource that
//! was sent a Create (with the physical id it answered); on Update, changed resources in
//! dependency order, a new physical id being a replacement whose old resource is deleted in the
//! cleanup phase after every update succeeded (and a failed update rolled back by sending the old
//! properties again, then deleting what the update created); on Delete, reverse order
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes-update.html>,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html>,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html>).

use std::collections::BTreeMap;
use std::time::Duration;

use samlfed::cfn::handler::Deps;
use serde_json::{json, Map, Value};

use super::harness::{Harness, ACCOUNT, FUNCTION_ARN, STACK_ID};
use super::template::{Answered, Rendering, StackContext, Template};

/// One request CloudFormation sent, and what the function answered.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub event: Value,
    pub response: Value,
}

impl Exchange {
    pub fn request_type(&self) -> &str {
        self.event["RequestType"].as_str().unwrap_or_default()
    }
    pub fn logical_id(&self) -> &str {
        self.event["LogicalResourceId"].as_str().unwrap_or_default()
    }
    pub fn succeeded(&self) -> bool {
        self.response["Status"] == "SUCCESS"
    }
    /// `Create SAMLProvider SUCCESS` — for asserting the sequence of a whole operation.
    pub fn summary(&self) -> String {
        format!("{} {} {}", self.request_type(), self.logical_id(), self.response["Status"].as_str().unwrap_or("?"))
    }
}

/// How a stack operation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    Complete,
    /// A resource failed; CloudFormation rolled back. The failed resource and its Reason.
    RolledBack {
        logical_id: String,
        reason: String,
    },
}

pub struct TemplateStack<'h> {
    harness: &'h Harness,
    deps: Deps,
    pub template: Template,
    pub context: StackContext,
    pub parameters: BTreeMap<String, String>,
    /// What each existing custom resource last answered (physical id and Data).
    pub answered: BTreeMap<String, Answered>,
    /// The properties each existing custom resource was last sent.
    sent: BTreeMap<String, Map<String, Value>>,
    /// Every request of the stack's life, in order.
    pub exchanges: Vec<Exchange>,
}

impl<'h> TemplateStack<'h> {
    /// A stack of `template` with `parameters`, in the harness's account, stack and function.
    pub fn new(harness: &'h Harness, template: Template, parameters: &[(&str, &str)]) -> TemplateStack<'h> {
        TemplateStack {
            deps: harness.deps.clone(),
            harness,
            template,
            context: StackContext {
                partition: "aws".into(),
                region: "us-east-1".into(),
                account: ACCOUNT.into(),
                stack_name: STACK_ID.split('/').nth(1).unwrap_or_default().into(),
                stack_id: STACK_ID.into(),
                function_arn: FUNCTION_ARN.into(),
            },
            parameters: to_map(parameters),
            answered: BTreeMap::new(),
            sent: BTreeMap::new(),
            exchanges: Vec::new(),
        }
    }

    /// The function runs with these dependencies (e.g. an HTTPS client trusting a test CA).
    pub fn with_deps(mut self, deps: Deps) -> TemplateStack<'h> {
        self.deps = deps;
        self
    }

    pub fn rendering(&self) -> Rendering<'_> {
        Rendering::new(&self.template, &self.context, &self.parameters, &self.answered)
    }

    /// The stack's Outputs, as `describe-stacks` would list them.
    pub fn outputs(&self) -> BTreeMap<String, Value> {
        self.rendering().outputs()
    }

    /// Requests sent since `from` (an index into [`TemplateStack::exchanges`]), as summaries.
    pub fn summaries_since(&self, from: usize) -> Vec<String> {
        self.exchanges[from..].iter().map(Exchange::summary).collect()
    }

    /// CreateStack.
    pub async fn create(&mut self) -> Ended {
        let mut created: Vec<String> = Vec::new();
        for logical_id in self.order(&self.template.clone(), &self.parameters.clone()) {
            let properties = self.rendering().properties(&logical_id);
            let shows = Shows::resource("CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "");
            let exchange = self.send("Create", &logical_id, None, &properties, None, shows).await;
            self.record(&logical_id, &exchange, properties);
            created.push(logical_id.clone());
            if !exchange.succeeded() {
                // ROLLBACK_IN_PROGRESS: everything sent a Create is deleted, the failed one included.
                for logical_id in created.iter().rev() {
                    self.delete_resource(logical_id, "ROLLBACK_IN_PROGRESS").await;
                }
                return rolled_back(&exchange);
            }
        }
        Ended::Complete
    }

    /// UpdateStack with `template` (the same one if `None`) and `parameters` (replacing the
    /// current ones; parameters not named take their defaults, as "use previous value" is not
    /// modelled).
    pub async fn update(&mut self, template: Option<Template>, parameters: &[(&str, &str)]) -> Ended {
        let (old_template, old_parameters) = (self.template.clone(), self.parameters.clone());
        let (old_answered, old_sent) = (self.answered.clone(), self.sent.clone());
        if let Some(template) = template {
            self.template = template;
        }
        self.parameters = to_map(parameters);
        let mut cleanup: Vec<(String, Answered, Map<String, Value>)> = Vec::new();
        let mut touched: Vec<String> = Vec::new();
        let mut failure = None;
        for logical_id in self.order(&self.template.clone(), &self.parameters.clone()) {
            let properties = self.rendering().properties(&logical_id);
            let exchange = match (self.answered.get(&logical_id).cloned(), self.sent.get(&logical_id).cloned()) {
                (Some(_), Some(old)) if old == properties => continue,
                (Some(current), Some(old)) => {
                    let shows = Shows::resource("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", &current.physical_id);
                    let exchange = self
                        .send("Update", &logical_id, Some(&current.physical_id), &properties, Some(&old), shows)
                        .await;
                    if exchange.succeeded() && exchange.response["PhysicalResourceId"] != json!(current.physical_id) {
                        cleanup.push((logical_id.clone(), current, old));
                    }
                    exchange
                }
                _ => {
                    let shows = Shows::resource("UPDATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "");
                    self.send("Create", &logical_id, None, &properties, None, shows).await
                }
            };
            touched.push(logical_id.clone());
            if !exchange.succeeded() {
                failure = Some(exchange);
                break;
            }
            self.record(&logical_id, &exchange, properties);
        }
        if let Some(failed) = failure {
            return self.roll_back_update(failed, touched, old_template, old_parameters, old_answered, old_sent).await;
        }
        // UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: replaced resources, and resources the template no
        // longer has, are deleted — dependents first.
        let remaining = self.order(&self.template.clone(), &self.parameters.clone());
        let removed: Vec<String> = old_answered.keys().filter(|id| !remaining.contains(id)).cloned().collect();
        const CLEANUP: &str = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS";
        for logical_id in removed.iter().rev() {
            let (answered, properties) = (old_answered[logical_id].clone(), old_sent[logical_id].clone());
            let shows = Shows { stack_status: CLEANUP, resource: None };
            self.send("Delete", logical_id, Some(&answered.physical_id), &properties, None, shows).await;
            self.answered.remove(logical_id);
            self.sent.remove(logical_id);
        }
        for (logical_id, answered, properties) in cleanup.iter().rev() {
            // The resource already has its new physical id; the Delete names the old one.
            let now = self.answered[logical_id].physical_id.clone();
            let shows = Shows::resource(CLEANUP, "UPDATE_COMPLETE", &now);
            self.send("Delete", logical_id, Some(&answered.physical_id), properties, None, shows).await;
        }
        Ended::Complete
    }

    async fn roll_back_update(
        &mut self,
        failed: Exchange,
        touched: Vec<String>,
        old_template: Template,
        old_parameters: BTreeMap<String, String>,
        old_answered: BTreeMap<String, Answered>,
        old_sent: BTreeMap<String, Map<String, Value>>,
    ) -> Ended {
        // UPDATE_ROLLBACK_IN_PROGRESS: the old template and parameters; every resource the update
        // touched gets its old properties back (in reverse order), against the physical id it has
        // now; what the update created, or made as a replacement, is deleted in the cleanup.
        let new_answered = std::mem::replace(&mut self.answered, old_answered.clone());
        let new_sent = std::mem::replace(&mut self.sent, old_sent.clone());
        self.template = old_template;
        self.parameters = old_parameters;
        let mut cleanup = Vec::new();
        for logical_id in touched.iter().rev() {
            let Some(old_properties) = old_sent.get(logical_id) else {
                if let (Some(answered), Some(properties)) = (new_answered.get(logical_id), new_sent.get(logical_id)) {
                    cleanup.push((logical_id.clone(), answered.clone(), properties.clone()));
                }
                continue;
            };
            let now = new_answered.get(logical_id).unwrap_or(&old_answered[logical_id]).clone();
            let new_properties = new_sent.get(logical_id).unwrap_or(old_properties).clone();
            let shows = Shows::resource("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_IN_PROGRESS", &now.physical_id);
            let exchange = self
                .send("Update", logical_id, Some(&now.physical_id), old_properties, Some(&new_properties), shows)
                .await;
            if now.physical_id != old_answered[logical_id].physical_id {
                cleanup.push((logical_id.clone(), now, new_properties));
            }
            if exchange.succeeded() {
                self.record(logical_id, &exchange, old_properties.clone());
            }
        }
        for (logical_id, answered, properties) in cleanup {
            let kept = self.answered.get(&logical_id).map(|a| a.physical_id.clone());
            let shows = Shows {
                stack_status: "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
                resource: kept.as_deref().map(|id| ("UPDATE_COMPLETE", id)),
            };
            self.send("Delete", &logical_id, Some(&answered.physical_id), &properties, None, shows).await;
        }
        rolled_back(&failed)
    }

    /// DeleteStack: every existing custom resource, dependents first.
    pub async fn delete(&mut self) -> Vec<Exchange> {
        let from = self.exchanges.len();
        let order = self.order(&self.template.clone(), &self.parameters.clone());
        for logical_id in order.iter().rev() {
            self.delete_resource(logical_id, "DELETE_IN_PROGRESS").await;
        }
        self.exchanges[from..].to_vec()
    }

    /// The Delete of a resource that is going, its stack in `stack_status`.
    async fn delete_resource(&mut self, logical_id: &str, stack_status: &str) {
        if let (Some(answered), Some(properties)) = (self.answered.remove(logical_id), self.sent.remove(logical_id)) {
            let shows = Shows::resource(stack_status, "DELETE_IN_PROGRESS", &answered.physical_id);
            self.send("Delete", logical_id, Some(&answered.physical_id), &properties, None, shows).await;
        }
    }

    /// The existing custom resources of `template` under `parameters`, dependencies first.
    fn order(&self, template: &Template, parameters: &BTreeMap<String, String>) -> Vec<String> {
        let rendering = Rendering::new(template, &self.context, parameters, &self.answered);
        let mut pending: Vec<String> =
            template.custom_resources().into_iter().filter(|id| rendering.exists(id)).collect();
        let mut ordered: Vec<String> = Vec::new();
        while !pending.is_empty() {
            let ready = pending
                .iter()
                .position(|id| rendering.dependencies(id).iter().all(|d| ordered.contains(d) || !pending.contains(d)))
                .expect("the template's custom resources have no dependency cycle");
            ordered.push(pending.remove(ready));
        }
        ordered
    }

    fn record(&mut self, logical_id: &str, exchange: &Exchange, properties: Map<String, Value>) {
        let data = exchange.response["Data"].as_object().cloned().unwrap_or_default();
        let physical_id = exchange.response["PhysicalResourceId"].as_str().unwrap_or_default().to_string();
        self.answered.insert(logical_id.to_string(), Answered { physical_id, data });
        self.sent.insert(logical_id.to_string(), properties);
    }

    /// Sends one request through the function, CloudFormation's record showing `shows` (what
    /// the function's origin check reads), and reads its response.
    async fn send(
        &mut self,
        request_type: &str,
        logical_id: &str,
        physical_id: Option<&str>,
        properties: &Map<String, Value>,
        old_properties: Option<&Map<String, Value>>,
        shows: Shows<'_>,
    ) -> Exchange {
        let (request_id, response_url) = self.harness.response_url().await;
        let resource_type = self.template.body["Resources"][logical_id]["Type"].clone();
        let mut event = json!({
            "RequestType": request_type,
            "ServiceToken": properties.get("ServiceToken").cloned().unwrap_or(Value::Null),
            "ResponseURL": response_url,
            "StackId": self.context.stack_id,
            "RequestId": request_id,
            "ResourceType": resource_type,
            "LogicalResourceId": logical_id,
            "ResourceProperties": properties,
        });
        // CloudFormation repeats the ServiceTimeout at the top of the event when the template sets it.
        if let Some(timeout) = properties.get("ServiceTimeout") {
            event["ServiceTimeout"] = timeout.clone();
        }
        if let Some(id) = physical_id {
            event["PhysicalResourceId"] = json!(id);
        }
        if let Some(old) = old_properties {
            event["OldResourceProperties"] = json!(old);
        }
        let (resource_status, shown_id) = shows.resource.unzip();
        let record = json!({
            "StackId": self.context.stack_id,
            "StackStatus": shows.stack_status,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceStatus": resource_status,
            "PhysicalResourceId": shown_id,
        });
        self.harness.emulator.record(&record).await;
        self.harness.invoke_as_is(&self.deps, &event, Duration::from_secs(60)).await;
        let response = self.harness.response(&event).await.expect("the function answered CloudFormation");
        let exchange = Exchange { event, response };
        self.exchanges.push(exchange.clone());
        exchange
    }
}

/// What CloudFormation's record shows while a request is out (DescribeStacks' StackStatus, and
/// DescribeStackResource's status and physical id; `None`: the stack no longer has the resource).
/// The states are AWS's stack-event sequences for each operation
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html>,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-monitor-stack.html>).
struct Shows<'a> {
    stack_status: &'a str,
    resource: Option<(&'a str, &'a str)>,
}

impl<'a> Shows<'a> {
    fn resource(stack_status: &'a str, resource_status: &'a str, physical_id: &'a str) -> Shows<'a> {
        Shows { stack_status, resource: Some((resource_status, physical_id)) }
    }
}

fn rolled_back(failed: &Exchange) -> Ended {
    Ended::RolledBack {
        logical_id: failed.logical_id().to_string(),
        reason: failed.response["Reason"].as_str().unwrap_or_default().to_string(),
    }
}

fn to_map(parameters: &[(&str, &str)]) -> BTreeMap<String, String> {
    parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
