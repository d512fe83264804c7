//! Expressions: operands, calls, and binary operators by precedence climbing.
//!
//! Binary operators are folded with an explicit operand stack, so a chain `a + b + c ...`
//! costs no recursion; only parentheses and calls recurse, and [`Parser::enter`] bounds
//! those. Every node's height is tracked bottom-up and capped by
//! [`crate::ParseOptions::max_expr_height`], which keeps the recursive `Drop`, `Clone`,
//! `PartialEq` and `Display` of the tree within a thread's stack.

use super::{PResult, Parser};
use crate::ast::{BinaryExpr, BinaryOp, Call, DataType, Expr, VarRef, WildcardType};
use crate::duration::parse_duration;
use crate::error::{ParseError, Pos};
use crate::token::{Keyword, Tok};

/// An expression with the height of its tree (a leaf is 1).
type Measured = (Expr, usize);

fn binary_op(tok: &Tok) -> Option<BinaryOp> {
    Some(match tok {
        Tok::Add => BinaryOp::Add,
        Tok::Sub => BinaryOp::Sub,
        Tok::Mul => BinaryOp::Mul,
        Tok::Div => BinaryOp::Div,
        Tok::Mod => BinaryOp::Mod,
        Tok::BitAnd => BinaryOp::BitwiseAnd,
        Tok::BitOr => BinaryOp::BitwiseOr,
        Tok::BitXor => BinaryOp::BitwiseXor,
        Tok::Keyword(Keyword::And) => BinaryOp::And,
        Tok::Keyword(Keyword::Or) => BinaryOp::Or,
        Tok::Eq => BinaryOp::Eq,
        Tok::Neq => BinaryOp::NotEq,
        Tok::EqRegex => BinaryOp::EqRegex,
        Tok::NeqRegex => BinaryOp::NotEqRegex,
        Tok::Lt => BinaryOp::Lt,
        Tok::Lte => BinaryOp::LtEq,
        Tok::Gt => BinaryOp::Gt,
        Tok::Gte => BinaryOp::GtEq,
        _ => return None,
    })
}

impl Parser<'_> {
    /// Parses a full expression.
    pub(crate) fn parse_expr(&mut self) -> PResult<Expr> {
        Ok(self.parse_expr_sized()?.0)
    }

    /// One more level on top of a subtree `height` tall, refused past the limit.
    fn taller(&self, height: usize, pos: Pos) -> PResult<usize> {
        let max = self.options.max_expr_height;
        if height >= max {
            return Err(ParseError::TooComplex { max, pos });
        }
        Ok(height + 1)
    }

    fn parse_expr_sized(&mut self) -> PResult<Measured> {
        let mut operands = vec![self.parse_operand()?];
        let mut operators: Vec<(BinaryOp, Pos)> = Vec::new();
        while let Some(op) = binary_op(&self.peek().tok) {
            let op_pos = self.next().pos;
            let rhs = if matches!(op, BinaryOp::EqRegex | BinaryOp::NotEqRegex) {
                match self.try_regex()? {
                    Some(re) => (Expr::Regex(re), 1),
                    None => return Err(Self::unexpected(self.peek(), &["regex"])),
                }
            } else {
                self.parse_operand()?
            };
            // Operators of equal strength group to the left, so fold them before pushing.
            while let Some(&(top, top_pos)) = operators.last() {
                if top.precedence() < op.precedence() {
                    break;
                }
                operators.pop();
                self.fold(&mut operands, top, top_pos)?;
            }
            operators.push((op, op_pos));
            operands.push(rhs);
        }
        while let Some((op, pos)) = operators.pop() {
            self.fold(&mut operands, op, pos)?;
        }
        Ok(operands
            .pop()
            .expect("one operand is left once every operator is folded"))
    }

    fn fold(&self, operands: &mut Vec<Measured>, op: BinaryOp, pos: Pos) -> PResult<()> {
        let (rhs, rhs_height) = operands.pop().expect("an operator has a right operand");
        let (lhs, lhs_height) = operands.pop().expect("an operator has a left operand");
        let height = self.taller(lhs_height.max(rhs_height), pos)?;
        operands.push((Expr::Binary(Box::new(BinaryExpr { lhs, op, rhs })), height));
        Ok(())
    }

    /// Parses everything an operator can apply to: literals, names, calls, parenthesised
    /// expressions, and signed operands.
    fn parse_operand(&mut self) -> PResult<Measured> {
        let token = self.next();
        let expr = match token.tok {
            Tok::LParen => {
                self.enter(token.pos)?;
                let (inner, height) = self.parse_expr_sized()?;
                self.expect(&Tok::RParen)?;
                self.leave();
                let height = self.taller(height, token.pos)?;
                return Ok((Expr::Paren(Box::new(inner)), height));
            }
            Tok::Ident(name) => {
                if self.peek_adjacent(&Tok::LParen) {
                    return self.parse_call(name, token.pos);
                }
                Expr::VarRef(self.parse_var_ref(name, token.pos)?)
            }
            Tok::Keyword(Keyword::Distinct) => {
                // `distinct(x)` is a call, `distinct x` a bare DISTINCT: spacing decides.
                if self.peek_adjacent(&Tok::LParen) {
                    return self.parse_call("distinct".to_string(), token.pos);
                }
                if !self.peek().space_before {
                    return Err(Self::unexpected(self.peek(), &["(", "identifier"]));
                }
                Expr::Distinct(self.parse_ident()?)
            }
            Tok::Str(text) => Expr::String(text),
            Tok::Number(text) => match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Expr::Number(v),
                _ => return Err(ParseError::invalid("unable to parse number", token.pos)),
            },
            Tok::Integer(text) => match (text.parse::<i64>(), text.parse::<u64>()) {
                (Ok(v), _) => Expr::Integer(v),
                (_, Ok(v)) => Expr::Unsigned(v),
                _ => return Err(ParseError::invalid("unable to parse integer", token.pos)),
            },
            Tok::Keyword(Keyword::True) => Expr::Boolean(true),
            Tok::Keyword(Keyword::False) => Expr::Boolean(false),
            Tok::Duration(text) => match parse_duration(&text) {
                Ok(ns) => Expr::Duration(ns),
                Err(e) => return Err(ParseError::semantic(e.to_string())),
            },
            Tok::Mul => Expr::Wildcard(self.parse_wildcard_type()?),
            Tok::BoundParam(name) if name.is_empty() => {
                return Err(ParseError::semantic("empty bound parameter"));
            }
            Tok::BoundParam(name) => Expr::BoundParam(name),
            Tok::Add | Tok::Sub => {
                let next = self.peek();
                if !matches!(
                    next.tok,
                    Tok::Number(_)
                        | Tok::Integer(_)
                        | Tok::Duration(_)
                        | Tok::LParen
                        | Tok::Ident(_)
                ) {
                    return Err(Self::unexpected(
                        next,
                        &["identifier", "number", "duration", "("],
                    ));
                }
                let operand = self.parse_operand()?;
                return self.apply_sign(operand, token.tok == Tok::Sub, token.pos);
            }
            _ => {
                return Err(Self::unexpected(
                    &token,
                    &["identifier", "string", "number", "bool"],
                ));
            }
        };
        Ok((expr, 1))
    }

    /// Folds a sign into a literal, or turns `-x` into `-1 * x` as InfluxDB does.
    fn apply_sign(&self, (expr, height): Measured, negative: bool, pos: Pos) -> PResult<Measured> {
        let signed = match expr {
            Expr::Integer(v) if negative => Expr::Integer(v.wrapping_neg()),
            Expr::Number(v) if negative => Expr::Number(-v),
            Expr::Duration(v) if negative => Expr::Duration(v.wrapping_neg()),
            // `-9223372036854775808` only fits once negated.
            Expr::Unsigned(v) if negative && v == 1 << 63 => Expr::Integer(i64::MIN),
            Expr::Unsigned(v) if negative => {
                return Err(ParseError::semantic(format!(
                    "constant -{v} underflows int64"
                )));
            }
            literal @ (Expr::Integer(_)
            | Expr::Number(_)
            | Expr::Duration(_)
            | Expr::Unsigned(_)) => literal,
            other => {
                let height = self.taller(height, pos)?;
                let sign = Expr::Integer(if negative { -1 } else { 1 });
                let product = BinaryExpr {
                    lhs: sign,
                    op: BinaryOp::Mul,
                    rhs: other,
                };
                return Ok((Expr::Binary(Box::new(product)), height));
            }
        };
        Ok((signed, height))
    }

    /// The optional `::field` / `::tag` after `*`.
    fn parse_wildcard_type(&mut self) -> PResult<WildcardType> {
        if !self.peek_adjacent(&Tok::DoubleColon) {
            return Ok(WildcardType::All);
        }
        self.next();
        let token = self.next();
        match token.tok {
            Tok::Keyword(Keyword::Field) => Ok(WildcardType::Fields),
            Tok::Keyword(Keyword::Tag) => Ok(WildcardType::Tags),
            _ => Err(Self::unexpected(&token, &["field", "tag"])),
        }
    }

    /// A name (its first segment read) with an optional `::type`.
    fn parse_var_ref(&mut self, first: String, pos: Pos) -> PResult<VarRef> {
        let (segments, _) = self.parse_segments(first, pos)?;
        let name = segments.join(".");
        if !self.peek_adjacent(&Tok::DoubleColon) {
            return Ok(VarRef {
                name,
                data_type: None,
            });
        }
        self.next();
        let token = self.next();
        let data_type = match &token.tok {
            Tok::Keyword(Keyword::Field) => DataType::Field,
            Tok::Keyword(Keyword::Tag) => DataType::Tag,
            Tok::Ident(word) => match word.to_ascii_lowercase().as_str() {
                "float" => DataType::Float,
                "integer" => DataType::Integer,
                "unsigned" => DataType::Unsigned,
                "string" => DataType::String,
                "boolean" => DataType::Boolean,
                _ => {
                    return Err(Self::unexpected(
                        &token,
                        &[
                            "float", "integer", "unsigned", "string", "boolean", "field", "tag",
                        ],
                    ));
                }
            },
            _ => {
                return Err(Self::unexpected(
                    &token,
                    &["float", "integer", "string", "boolean", "field", "tag"],
                ));
            }
        };
        Ok(VarRef {
            name,
            data_type: Some(data_type),
        })
    }

    /// A call's arguments; the name and `(` are read. A regex may stand as a whole argument.
    fn parse_call(&mut self, name: String, pos: Pos) -> PResult<Measured> {
        self.next();
        self.enter(pos)?;
        let mut args = Vec::new();
        let mut height = 0;
        if !self.peek_is(&Tok::RParen) {
            loop {
                let (arg, arg_height) = match self.try_regex()? {
                    Some(re) => (Expr::Regex(re), 1),
                    None => self.parse_expr_sized()?,
                };
                height = height.max(arg_height);
                args.push(arg);
                if !self.accept(&Tok::Comma) {
                    break;
                }
            }
        }
        self.expect(&Tok::RParen)?;
        self.leave();
        let height = self.taller(height, pos)?;
        let name = name.to_lowercase();
        Ok((Expr::Call(Call { name, args }), height))
    }
}
