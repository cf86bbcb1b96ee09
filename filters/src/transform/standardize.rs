//! Standardization: [`Ast`] -> negation normal form.
//!
//! Negations are pushed down to the conditions (De Morgan), nested operators of the same kind
//! are flattened, and the constants (`{}` = true, `nothing` = false) are folded away. The result
//! is a tree of `and`/`or` over *literals* (a condition and a polarity), which both the
//! reference evaluator and the canonical form consume.
//!
//! Unlike Koncorde, every negation is accepted: a negated geo term is an ordinary literal
//! (Herald decision 8), `not select` is the exact complement of `select` and `not nothing`
//! matches everything (decision 12), whether written directly or reached through De Morgan or
//! `bool`. Standardization therefore cannot fail.

use crate::condition::Literal;

use super::parse::Ast;

/// A filter in negation normal form.
#[derive(Clone, Debug)]
pub enum Nnf {
    /// Matches every document.
    True,
    /// Matches no document.
    False,
    Literal(Literal),
    /// At least two children, none of them `True`/`False`/`And`.
    And(Vec<Nnf>),
    /// At least two children, none of them `True`/`False`/`Or`.
    Or(Vec<Nnf>),
}

pub(crate) fn standardize(ast: Ast) -> Nnf {
    push(ast, false)
}

/// Standardizes `ast`, negated when `negated` is true.
fn push(ast: Ast, negated: bool) -> Nnf {
    match ast {
        Ast::Everything => constant(!negated),
        Ast::Nothing => constant(negated),
        Ast::Leaf(condition) => Nnf::Literal(Literal::new(condition, negated)),
        Ast::Not(inner) => push(*inner, !negated),
        Ast::And(children) => {
            let children = children.into_iter().map(|c| push(c, negated));
            if negated {
                or(children)
            } else {
                and(children)
            }
        }
        Ast::Or(children) => {
            let children = children.into_iter().map(|c| push(c, negated));
            if negated {
                and(children)
            } else {
                or(children)
            }
        }
    }
}

fn constant(value: bool) -> Nnf {
    if value {
        Nnf::True
    } else {
        Nnf::False
    }
}

/// Conjunction with flattening and constant folding.
fn and(children: impl Iterator<Item = Nnf>) -> Nnf {
    let mut out = Vec::new();
    let mut is_false = false;
    for child in children {
        match child {
            Nnf::True => {}
            Nnf::False => is_false = true,
            Nnf::And(grand) => out.extend(grand),
            other => out.push(other),
        }
    }
    if is_false {
        Nnf::False
    } else {
        collapse(out, Nnf::True, Nnf::And)
    }
}

fn or(children: impl Iterator<Item = Nnf>) -> Nnf {
    let mut out = Vec::new();
    let mut is_true = false;
    for child in children {
        match child {
            Nnf::False => {}
            Nnf::True => is_true = true,
            Nnf::Or(grand) => out.extend(grand),
            other => out.push(other),
        }
    }
    if is_true {
        Nnf::True
    } else {
        collapse(out, Nnf::False, Nnf::Or)
    }
}

fn collapse(mut children: Vec<Nnf>, empty: Nnf, node: fn(Vec<Nnf>) -> Nnf) -> Nnf {
    match children.len() {
        0 => empty,
        1 => children.pop().unwrap_or(empty),
        _ => node(children),
    }
}
