//! What an expression reads, found on its syntax tree once at compile time: workflow variables, `$states`
//! members, the functions to register, and references AWS refuses (a field name, `$` or `$$` read where
//! Step Functions has no context item).

use std::collections::{BTreeSet, HashSet};

use jsonata_core::ast::{AstNode, BinaryOp, PathStep, Stage};

#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub variables: BTreeSet<String>,
    pub states_fields: BTreeSet<String>,
    /// `$states` read as a whole (not only through `$states.<field>`).
    pub whole_states: bool,
    /// Names called (`$f(…)`) or read as values, for host-function registration.
    pub functions: BTreeSet<String>,
    /// Functions called by name, innermost first (arguments before the call), each once.
    pub calls: Vec<String>,
    /// Distinct references AWS rejects at definition time, in order of appearance.
    pub top_level_references: Vec<String>,
}

impl Facts {
    pub fn reads_states(&self) -> bool {
        self.whole_states || !self.states_fields.is_empty()
    }
}

pub(crate) fn analyse(ast: &AstNode) -> Facts {
    let mut bound_anywhere = HashSet::new();
    collect_bindings(ast, &mut bound_anywhere);
    let mut walker = Walker {
        facts: Facts::default(),
        scopes: vec![HashSet::new()],
        bound_anywhere,
    };
    walker.walk(ast, true);
    walker.facts
}

struct Walker {
    facts: Facts,
    /// Names bound by `:=` so far, per block; lambda parameters.
    scopes: Vec<HashSet<String>>,
    /// Every name the expression binds anywhere (`:=`, `@$v`, `#$i`, parameters): a lambda body may run
    /// after a later binding, and positional bindings reach across steps, so inside those they count.
    bound_anywhere: HashSet<String>,
}

impl Walker {
    fn is_bound(&self, name: &str) -> bool {
        self.scopes.iter().any(|scope| scope.contains(name))
    }

    fn top_level(&mut self, reference: &str) {
        if !self
            .facts
            .top_level_references
            .iter()
            .any(|r| r == reference)
        {
            self.facts.top_level_references.push(reference.to_string());
        }
    }

    fn variable(&mut self, name: &str) {
        if name == "states" {
            self.facts.whole_states = true;
        } else if !self.is_bound(name) {
            // A value read of a function name (`$map(xs, $string)`) is also a possible workflow variable
            // of that name; the evaluator binds it only if such a variable exists.
            self.facts.functions.insert(name.to_string());
            self.facts.variables.insert(name.to_string());
        }
    }

    /// `root`: the node is evaluated against the expression's input, which Step Functions leaves empty.
    fn walk(&mut self, node: &AstNode, root: bool) {
        match node {
            AstNode::String(_)
            | AstNode::Number(_)
            | AstNode::Boolean(_)
            | AstNode::Null
            | AstNode::Undefined
            | AstNode::Placeholder
            | AstNode::Regex { .. }
            | AstNode::Wildcard
            | AstNode::Descendant
            | AstNode::Parent(_) => {}
            AstNode::Variable(name) if name.is_empty() => {
                if root {
                    self.top_level("$");
                }
            }
            AstNode::Variable(name) => self.variable(name),
            AstNode::ParentVariable(_) => {
                if root {
                    self.top_level("$$");
                }
            }
            AstNode::Name(name) => {
                if root {
                    self.top_level(name);
                }
            }
            AstNode::Path { steps } => self.path(steps, root),
            AstNode::Binary {
                op: BinaryOp::ColonEqual,
                lhs,
                rhs,
            } => {
                self.walk(rhs, root);
                if let AstNode::Variable(name) = lhs.as_ref() {
                    if let Some(scope) = self.scopes.last_mut() {
                        scope.insert(name.clone());
                    }
                } else {
                    self.walk(lhs, root);
                }
            }
            AstNode::Binary { lhs, rhs, .. } => {
                self.walk(lhs, root);
                self.walk(rhs, root);
            }
            AstNode::Unary { operand, .. } => self.walk(operand, root),
            AstNode::Function { name, args, .. } => {
                for arg in args {
                    self.walk(arg, root);
                }
                if !self.is_bound(name) {
                    self.facts.functions.insert(name.clone());
                    if !self.facts.calls.contains(name) {
                        self.facts.calls.push(name.clone());
                    }
                }
            }
            AstNode::Call { procedure, args } => {
                self.walk(procedure, root);
                for arg in args {
                    self.walk(arg, root);
                }
            }
            AstNode::Lambda { params, body, .. } => {
                let mut scope: HashSet<String> = params.iter().cloned().collect();
                scope.extend(self.bound_anywhere.iter().cloned());
                self.scopes.push(scope);
                // A lambda's body runs wherever it is applied; AWS's rule is about the expression's own
                // top level, so names in a body are not flagged.
                self.walk(body, false);
                self.scopes.pop();
            }
            AstNode::Array(items) => {
                for item in items {
                    self.walk(item, root);
                }
            }
            AstNode::ArrayGroup(items) => {
                for item in items {
                    self.walk(item, false);
                }
            }
            AstNode::Object(pairs) => {
                for (key, value) in pairs {
                    self.walk(key, root);
                    self.walk(value, root);
                }
            }
            AstNode::ObjectTransform { input, pattern } => {
                self.walk(input, root);
                for (key, value) in pattern {
                    self.walk(key, false);
                    self.walk(value, false);
                }
            }
            AstNode::Block(items) => {
                self.scopes.push(HashSet::new());
                for item in items {
                    self.walk(item, root);
                }
                self.scopes.pop();
            }
            AstNode::Conditional {
                condition,
                then_branch,
                else_branch,
            } => {
                self.walk(condition, root);
                self.walk(then_branch, root);
                if let Some(branch) = else_branch {
                    self.walk(branch, root);
                }
            }
            AstNode::FunctionApplication(inner) => self.walk(inner, false),
            AstNode::Sort { input, terms } => {
                self.walk(input, root);
                for (term, _) in terms {
                    self.walk(term, false);
                }
            }
            AstNode::Transform {
                location,
                update,
                delete,
            } => {
                self.walk(location, false);
                self.walk(update, false);
                if let Some(delete) = delete {
                    self.walk(delete, false);
                }
            }
        }
    }

    fn path(&mut self, steps: &[PathStep], root: bool) {
        // Positional bindings (`@$v`, `#$i`) are visible to the later steps of the path.
        self.scopes.push(HashSet::new());
        for (i, step) in steps.iter().enumerate() {
            if i == 0 && matches!(&step.node, AstNode::Variable(name) if name == "states") {
                match steps.get(1).map(|s| &s.node) {
                    Some(AstNode::Name(field)) => {
                        self.facts.states_fields.insert(field.clone());
                    }
                    _ => self.facts.whole_states = true,
                }
            } else {
                self.walk(&step.node, root && i == 0);
            }
            if let Some(name) = &step.focus {
                self.bind_here(name);
            }
            if let Some(name) = &step.index_var {
                self.bind_here(name);
            }
            for stage in &step.stages {
                match stage {
                    Stage::Filter(predicate) => self.walk(predicate, false),
                    Stage::KeepArray => {}
                    Stage::Index(name) => self.bind_here(name),
                }
            }
        }
        self.scopes.pop();
    }

    fn bind_here(&mut self, name: &str) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name.to_string());
        }
    }
}

/// Every name the expression binds, wherever.
fn collect_bindings(node: &AstNode, out: &mut HashSet<String>) {
    match node {
        AstNode::Binary {
            op: BinaryOp::ColonEqual,
            lhs,
            rhs,
        } => {
            if let AstNode::Variable(name) = lhs.as_ref() {
                out.insert(name.clone());
            }
            collect_bindings(rhs, out);
        }
        AstNode::Lambda { params, body, .. } => {
            out.extend(params.iter().cloned());
            collect_bindings(body, out);
        }
        AstNode::Path { steps } => {
            for step in steps {
                out.extend(step.focus.iter().cloned());
                out.extend(step.index_var.iter().cloned());
                collect_bindings(&step.node, out);
                for stage in &step.stages {
                    match stage {
                        Stage::Filter(predicate) => collect_bindings(predicate, out),
                        Stage::Index(name) => {
                            out.insert(name.clone());
                        }
                        Stage::KeepArray => {}
                    }
                }
            }
        }
        _ => for_each_child(node, |child| collect_bindings(child, out)),
    }
}

/// The direct children of every node kind except paths (handled by the callers, which need the steps).
fn for_each_child(node: &AstNode, mut f: impl FnMut(&AstNode)) {
    match node {
        AstNode::Binary { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        AstNode::Unary { operand, .. } => f(operand),
        AstNode::Function { args, .. } => args.iter().for_each(f),
        AstNode::Call { procedure, args } => {
            f(procedure);
            args.iter().for_each(f);
        }
        AstNode::Lambda { body, .. } => f(body),
        AstNode::Array(items) | AstNode::ArrayGroup(items) | AstNode::Block(items) => {
            items.iter().for_each(f)
        }
        AstNode::Object(pairs) => {
            for (key, value) in pairs {
                f(key);
                f(value);
            }
        }
        AstNode::ObjectTransform { input, pattern } => {
            f(input);
            for (key, value) in pattern {
                f(key);
                f(value);
            }
        }
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            f(condition);
            f(then_branch);
            if let Some(branch) = else_branch {
                f(branch);
            }
        }
        AstNode::FunctionApplication(inner) => f(inner),
        AstNode::Sort { input, terms } => {
            f(input);
            for (term, _) in terms {
                f(term);
            }
        }
        AstNode::Transform {
            location,
            update,
            delete,
        } => {
            f(location);
            f(update);
            if let Some(delete) = delete {
                f(delete);
            }
        }
        AstNode::Path { steps } => {
            for step in steps {
                f(&step.node);
            }
        }
        _ => {}
    }
}
