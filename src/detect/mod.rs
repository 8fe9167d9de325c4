//! The detection stage: deciding what each test left behind. The hook's
//! connection ([`listener`]) feeds the comparator ([`compare`]), which
//! reads goroutine dumps ([`stack`]), exempts what the rules
//! ([`ignore`], in-code [`directives`]) and the [`baseline`] allow, and
//! adds fix [`hints`]; [`resources`] judges descriptors, processes and
//! heap the same way. Pure logic apart from the listener's socket and the
//! few reads of `/proc`.

pub mod baseline;
pub mod compare;
pub mod directives;
pub mod hints;
pub mod ignore;
pub mod listener;
pub mod resources;
pub mod stack;
