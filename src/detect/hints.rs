//! Fix hints: one line on a leak group, given only when the goroutines'
//! shape says for certain what was left open (pure logic, no I/O).
//!
//! | shape | hint |
//! | --- | --- |
//! | created by `net/http/httptest.(*Server).goServe` (the server's accept loop) | the server is never closed: `defer srv.Close()` |
//! | `net/http.(*persistConn).readLoop` waiting in `select` for the response body to be read or closed, the request made by a test's own code (with `--chains`: the chain's first frame outside the standard library in a `_test.go` file) | a response body is never closed: `defer resp.Body.Close()` |
//! | source: a send on `ch` after the go statement's function `select`ed on receiving `ch` and another case | make `ch` buffered, or select on `ctx.Done()` in the sender |
//! | source: a send on `ch` whose consumer's `for range ch` loop breaks or returns, and no leaked goroutine is still in that loop | a done channel or a context for the sender |
//! | source: `for range t.C`, or `<-t.C` or a select of tickers only in a `for {}` loop, `t` from `time.NewTicker`, no way out of the loop | a quit channel or `ctx.Done()` to return on, and `defer t.Stop()` |
//! | chains: started by a `Go`/`Submit` method, or a `New..` constructor, of a non-standard `*Group`/`*Pool` type, called on the test's line on (or assigned to) a variable of the test's that it never `Wait`s for (or, for a type without `Wait`, `Release`s) | `p.Wait()` / `p.Release()` before the test returns |
//!
//! Look-alikes get none: an `http.Server` the test started itself (it
//! may be shut down many ways), and a keep-alive connection whose body
//! was closed (its `readLoop` waits in `IO wait` for the next response).
//!
//! The other shapes need the source ([`from_source`], given a way to read
//! files; [`add_from_source`] for a verdict's groups), each rule below:
//! `select_gave_up`, `range_consumer_returned`, `ticker_loop` and
//! `pool_never_waited`. Their look-alikes get none: a send on a channel
//! that no such select reads, or that nobody ranges over, or whose
//! consumer is itself stuck in its loop; a ticker loop that can return (on
//! a quit channel never closed, a flag never set: the way out exists, and
//! the call missing is not in the source); a pool whose `Wait` or
//! `Release` the test calls, or hands on to other code, or whose task
//! blocks (`Release` ends idle workers only); any pool hint without
//! creation chains (`--chains`), which give the test's line.

use crate::detect::compare::{package_of, Leak};
use crate::detect::stack::Goroutine;

/// The accept loop's goroutine of an `httptest.Server`.
const HTTPTEST_SERVE: &str = "net/http/httptest.(*Server).goServe";
/// The client connection's reading goroutine.
const READ_LOOP: &str = "net/http.(*persistConn).readLoop";

/// The fix hint for goroutine `g`, if its shape is certain.
pub fn hint_for(g: &Goroutine<'_>) -> Option<&'static str> {
    if g.created_by
        .as_ref()
        .is_some_and(|c| c.function == HTTPTEST_SERVE)
    {
        return Some("an httptest.Server is never closed: defer srv.Close() after starting it");
    }
    // readLoop itself is the innermost frame: it waits in its select for
    // the body to be read to its end or closed.
    let top = g
        .frames
        .iter()
        .find(|f| !f.function.starts_with("runtime."));
    if g.state == "select" && top.is_some_and(|f| f.function == READ_LOOP) {
        return Some(BODY_HINT);
    }
    None
}

const BODY_HINT: &str =
    "a response body is never closed: defer resp.Body.Close() after the request";

/// [`hint_for`], knowing the goroutine's creation chain (innermost first)
/// and which of its frames are the standard library's: a response body's
/// hint only when the code that made the request is a test's own (the
/// chain's first frame outside the standard library is in a `_test.go`
/// file) or is not known (no creation chains). When a library made it,
/// the response went through the library's code, and whose code should
/// close the body the chain does not say.
pub fn hint_in_chain(
    g: &Goroutine<'_>,
    chain: &[crate::detect::compare::ChainFrame],
    is_std: impl Fn(&crate::detect::compare::ChainFrame) -> bool,
) -> Option<&'static str> {
    let hint = hint_for(g)?;
    if hint != BODY_HINT {
        return Some(hint);
    }
    match chain.iter().find(|f| !is_std(f)) {
        Some(caller) if !caller.file.ends_with("_test.go") => None,
        _ => Some(hint),
    }
}

/// Adds the hints that the source shows for certain (see [`from_source`])
/// to the groups of one verdict, reading files with `read` and listing a
/// directory's files (their paths) with `list`.
pub fn add_from_source(
    leaks: &mut [Leak],
    read: impl Fn(&str) -> Option<String>,
    list: impl Fn(&str) -> Vec<String>,
) {
    let hints: Vec<Option<String>> = leaks
        .iter()
        .map(|l| from_source(l, leaks, &read, &list))
        .collect();
    for (leak, hint) in leaks.iter_mut().zip(hints) {
        if hint.is_some() {
            leak.hint = hint;
        }
    }
}

/// The hint for a leak group that the source shows for certain, reading
/// files with `read` (`None`: unreadable) and listing a directory's files
/// with `list` (a pool's package), given every group of the same
/// verdict (`all`, the group itself among them). Only for a group without
/// one.
pub fn from_source(
    leak: &Leak,
    all: &[Leak],
    read: impl Fn(&str) -> Option<String>,
    list: impl Fn(&str) -> Vec<String>,
) -> Option<String> {
    if leak.hint.is_some() {
        return None;
    }
    select_gave_up(leak, &read)
        .or_else(|| range_consumer_returned(leak, all, &read))
        .or_else(|| ticker_loop(leak, &read))
        .or_else(|| pool_never_waited(leak, &read, &list))
}

/// A send that a `select` in the go statement's function gave up on.
fn select_gave_up(leak: &Leak, read: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if leak.state != "chan send" {
        return None;
    }
    let created = leak.created_by.as_ref()?;
    let blocked = read(&leak.file)?;
    let send = blocked.lines().nth(leak.line.checked_sub(1)? as usize)?;
    let channel = sent_on(send)?.to_string();
    let other;
    let creator = if created.file == leak.file {
        &blocked
    } else {
        other = read(&created.file)?;
        &other
    };
    // The rest of the function that ran the go statement: up to the
    // closing brace of its top-level declaration.
    let rest = creator
        .lines()
        .skip(created.line as usize)
        .take_while(|l| !l.starts_with('}'));
    let mut in_select = false;
    let (mut receives, mut others) = (false, false);
    for line in rest {
        let code = line.split("//").next().unwrap_or("").trim();
        if code.starts_with("select {") {
            in_select = true;
            (receives, others) = (false, false);
            continue;
        }
        if !in_select || !code.starts_with("case ") {
            continue;
        }
        let from = code
            .split_once("<-")
            .map(|(_, r)| r.trim_end_matches(':').trim());
        match from {
            Some(from) if from == channel.as_str() => receives = true,
            _ => others = true,
        }
        if receives && others {
            return Some(format!(
                "the select that receives from {channel} can take another case and leave this send blocked: make {channel} buffered (make(chan T, 1)), or select on ctx.Done() in the sender"
            ));
        }
    }
    None
}

/// A producer blocked sending on a channel whose `for range` consumer
/// can stop early, and has: no leaked goroutine is still in its loop.
///
/// The channel is followed by name from the blocked send to the function
/// that ran the go statement: the same name when the goroutine is that
/// function's `go func() {` literal, else through `go f(.., ch, ..)` to
/// `f`'s parameter. There (the whole top-level declaration), the consumer
/// is a `for .. range ch {` loop, or a function `g` of the same files
/// called (or started) with `ch` whose parameter it ranges over; its loop
/// must hold a `return` or a `break` of its own.
fn range_consumer_returned(
    leak: &Leak,
    all: &[Leak],
    read: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    if leak.state != "chan send" {
        return None;
    }
    let created = leak.created_by.as_ref()?;
    let blocked = read(&leak.file)?;
    let blocked: Vec<&str> = blocked.lines().collect();
    let channel = sent_on(blocked.get(leak.line.checked_sub(1)? as usize)?)?;
    let creator_text = read(&created.file)?;
    let creator: Vec<&str> = creator_text.lines().collect();
    let go_at = created.line.checked_sub(1)? as usize;
    let go = code(creator.get(go_at)?);
    let go = go.strip_prefix("go ")?.trim_start();
    let (start, end) = top_level_func(&creator, go_at)?;
    if decl_name(creator[start])? != function_name(&created.function)? {
        return None;
    }
    // The channel's name in the creator.
    let closure = format!("{}.func", created.function);
    let name = if go.starts_with("func() {") && leak.function.starts_with(&closure) {
        channel.to_string()
    } else {
        if !is_identifier(channel) {
            return None;
        }
        let (callee, args) = call(go)?;
        if !is_identifier(callee) || function_name(&leak.function)? != callee {
            return None;
        }
        // The producer's own declaration, in the blocked file.
        let params = find_func(&blocked, callee).and_then(|i| params(blocked[i]))?;
        let k = params.iter().position(|p| *p == channel)?;
        let arg = args.get(k)?.to_string();
        is_identifier(&arg).then_some(arg)?
    };
    // The consumer: a loop over `name` in the creator, or in a function
    // it passes `name` to.
    let mut consumers: Vec<(String, Vec<&str>, usize, String)> = Vec::new();
    for (i, line) in creator.iter().enumerate().take(end + 1).skip(start) {
        let c = code(line);
        if ranged_over(c) == Some(name.as_str()) {
            consumers.push((created.file.clone(), creator.clone(), i, name.clone()));
            continue;
        }
        for (callee, args) in calls(c) {
            let Some(k) = args.iter().position(|a| *a == name) else {
                continue;
            };
            for (file, lines) in [(&created.file, &creator), (&leak.file, &blocked)] {
                let Some(at) = find_func(lines, callee) else {
                    continue;
                };
                let Some(param) = params(lines[at]).and_then(|p| p.get(k).map(|p| p.to_string()))
                else {
                    continue;
                };
                let (_, g_end) = top_level_func(lines, at)?;
                for j in at..=g_end {
                    if ranged_over(code(lines[j])) == Some(param.as_str()) {
                        consumers.push((file.clone(), lines.clone(), j, param.clone()));
                    }
                }
                break;
            }
        }
    }
    let [(file, lines, at, ranged)] = consumers.as_slice() else {
        return None;
    };
    let stop = block_end(lines, *at)?;
    if !loop_exits(lines, *at, stop).certain {
        return None;
    }
    // It returned: no leaked goroutine is still inside its loop.
    let first = at + 1;
    let last = stop + 1;
    let inside = all.iter().any(|l| {
        own_frames(&l.stack).any(|(f, line)| f == file && (first..=last).contains(&(line as usize)))
    });
    if inside {
        return None;
    }
    Some(format!(
        "the consumer's for-range loop over {ranged} stops early (break/return) and leaves this send blocked: give the sender a done channel or a context to select on, closed or canceled when the consumer returns"
    ))
}

/// A loop on a `time.Ticker`'s channel with no way out: `for .. range
/// t.C {`, or `<-t.C` or a `select` whose every case receives from a
/// ticker, in a `for {` loop; with no `return`, `break`, `goto`, panic or
/// exit in the loop, and `t` made by `time.NewTicker` in the enclosing
/// function (or its `*time.Ticker` parameter). A loop that also selects on
/// a quit channel or a context gets none: its way out exists, and what is
/// missing (a call that closes it) the source does not name.
fn ticker_loop(leak: &Leak, read: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let text = read(&leak.file)?;
    let lines: Vec<&str> = text.lines().collect();
    let at = leak.line.checked_sub(1)? as usize;
    let here = code(lines.get(at)?);
    // Which loop, from the line the goroutine is at; its state must fit
    // it: blocked receiving there, or running (a tick just received shows
    // it runnable, at the loop's line or in its body).
    let running = matches!(leak.state.as_str(), "running" | "runnable");
    let fits = |blocked: &str| running || leak.state == blocked;
    let receive = here
        .strip_prefix("<-")
        .or_else(|| here.split_once(":= <-").map(|(_, r)| r));
    let (lp, tickers) = match (ranged_over(here), receive) {
        (Some(ch), _) if fits("chan receive") => (at, vec![ch.strip_suffix(".C")?]),
        (None, Some(ch)) if fits("chan receive") => (
            enclosing_for(&lines, at)?,
            vec![ch.trim().strip_suffix(".C")?],
        ),
        (None, None) if here == "select {" && fits("select") => {
            let end = block_end(&lines, at)?;
            let mut tickers = Vec::new();
            let mut depth = 0usize;
            for line in &lines[at + 1..end] {
                let c = code(line);
                if depth == 0 && (c.starts_with("case ") || c.starts_with("default")) {
                    let ch = c
                        .strip_prefix("case ")
                        .and_then(|c| c.strip_suffix(':'))
                        .and_then(|c| c.rsplit_once("<-"))
                        .map(|(_, ch)| ch.trim())
                        .and_then(|ch| ch.strip_suffix(".C"))?;
                    tickers.push(ch);
                }
                depth = (depth + c.matches('{').count()).checked_sub(c.matches('}').count())?;
            }
            (enclosing_for(&lines, at)?, tickers)
        }
        // Running in the body of a `for .. range t.C {` loop.
        (None, None) if running => {
            let lp = enclosing_block(&lines, at)?;
            let ch = ranged_over(code(lines[lp]))?;
            (lp, vec![ch.strip_suffix(".C")?])
        }
        _ => return None,
    };
    let (start, _) = top_level_func(&lines, at)?;
    let made = |t: &str| {
        lines[start..at].iter().any(|l| {
            let c = code(l);
            c.contains(&format!("{t} := time.NewTicker("))
                || c.contains(&format!("{t} = time.NewTicker("))
        }) || code(lines[start]).contains(&format!("{t} *time.Ticker"))
    };
    if tickers.is_empty() || !tickers.iter().all(|t| is_identifier(t) && made(t)) {
        return None;
    }
    let stop = block_end(&lines, lp)?;
    let exits = loop_exits(&lines, lp, stop);
    if exits.certain || exits.maybe {
        return None;
    }
    let t = tickers[0];
    Some(format!(
        "this loop over {t}.C never ends (Stop does not close a ticker's channel): also select on a quit channel or ctx.Done() and return on it, and defer {t}.Stop()"
    ))
}

/// Goroutines a pool's `Go`, `Submit` or constructor started for the
/// test's call (`via`, known with creation chains), where the test never
/// calls the pool's `Wait` (or, for a pool without one, `Release`).
///
/// Certain when: the chain's frame the test's line called (in the same
/// goroutine) is a method `Go` or `Submit`, or a function `New..` that
/// returns a pointer to it, of a type named `*Group` or `*Pool` outside
/// the standard library; that type declares `Wait` (else `Release`) in
/// its package's files, itself or through a type it embeds; for
/// `Release`, and for a constructor, the goroutines wait in the pool's own
/// package (Release ends idle workers, not a task that blocks); the
/// receiver on the test's line (or the variable it assigns the pool to) is
/// a variable of the test's function, which uses it only through method
/// calls, none of them that one (no `defer p.Wait()`,
/// `t.Cleanup(p.Release)`, no passing it on).
fn pool_never_waited(
    leak: &Leak,
    read: &dyn Fn(&str) -> Option<String>,
    list: &dyn Fn(&str) -> Vec<String>,
) -> Option<String> {
    let via = leak.via.as_ref()?;
    let i = leak
        .chain
        .iter()
        .position(|c| c.function == via.function && c.file == via.file && c.line == via.line)?;
    let entry = &leak.chain[i.checked_sub(1)?];
    if entry.goroutine != leak.chain[i].goroutine {
        return None;
    }
    let pkg = package_of(&entry.function);
    if !pkg.split('/').next().is_some_and(|e| e.contains('.')) {
        return None; // the standard library's
    }
    // The test's line calls a method Go or Submit of the pool, or a
    // constructor New.. that returns it.
    let method = match method_parts(&entry.function) {
        Some((_, ty, method)) if matches!(method, "Go" | "Submit") => Some((ty, method)),
        Some(_) => return None,
        None => None,
    };
    let constructor = match method {
        Some(_) => None,
        None => {
            let name = function_name(&entry.function)?;
            let plain = format!("{pkg}.{name}");
            let own = entry.function == plain || entry.function == format!("{plain}[...]");
            if !name.starts_with("New") || !own {
                return None;
            }
            Some(name)
        }
    };
    let is_pool = |ty: &str| ty.ends_with("Group") || ty.ends_with("Pool");
    if method.is_some_and(|(ty, _)| !is_pool(ty)) {
        return None;
    }
    // The package's files, where the pool's type and methods are declared.
    let dir = entry.file.rsplit_once('/')?.0;
    let texts: Vec<String> = list(dir)
        .iter()
        .filter(|f| f.ends_with(".go") && !f.ends_with("_test.go"))
        .filter_map(|f| read(f))
        .collect();
    let lines: Vec<&str> = texts.iter().flat_map(|t| t.lines()).collect();
    let (ty, called) = match (method, constructor) {
        (Some(m), _) => m,
        (None, Some(name)) => (result_type(lines[find_func(&lines, name)?])?, name),
        (None, None) => return None,
    };
    if !is_pool(ty) {
        return None;
    }
    let constructor = constructor.is_some();
    let methods = methods_of(&lines, ty);
    let release = ["Wait", "Release"]
        .into_iter()
        .find(|m| methods.contains(m))?;
    // Release ends idle workers, not a task that blocks: the goroutines
    // must wait in the pool's own code; so must a constructor's (a task
    // of the test's own that it runs is no sign of a pool left open).
    if (release == "Release" || constructor) && package_of(&leak.function) != pkg {
        return None;
    }
    let test = read(&via.file)?;
    let lines: Vec<&str> = test.lines().collect();
    let at = via.line.checked_sub(1)? as usize;
    let line = code(lines.get(at)?);
    let receiver = if constructor {
        assigned_from(line, called)?
    } else {
        receiver_of(line, called)?
    };
    let (top, top_end) = top_level_func(&lines, at)?;
    // The variable's declaration nearest above the call, and the block it
    // is in (gofmt indents blocks with tabs): a variable of the same name
    // in a sibling subtest's function is another.
    let decl = (top..=at).rev().find(|&i| {
        let c = code(lines[i]);
        occurrences(c, receiver)
            .into_iter()
            .any(|(pos, _)| is_declaration(c, pos, receiver))
    })?;
    let depth = indent(lines[decl]);
    let end = (decl + 1..=top_end)
        .find(|&i| indent(lines[i]) < depth && code(lines[i]).starts_with('}'))
        .unwrap_or(top_end);
    let mut declared = false;
    for line in &lines[decl..=end] {
        let c = code(line);
        for (pos, rest) in occurrences(c, receiver) {
            if let Some(m) = rest.strip_prefix('.') {
                if m.starts_with(release) && !m[release.len()..].starts_with(is_ident_char) {
                    return None;
                }
            } else if is_declaration(c, pos, receiver) {
                declared = true;
            } else {
                // Passed on, returned, copied: someone else may release it.
                return None;
            }
        }
    }
    declared.then(|| {
        format!(
            "{receiver}.{release}() is never called, so the {ty}'s goroutines outlive the test: call it before the test returns (defer {receiver}.{release}())"
        )
    })
}

/// The type a constructor's `func` line returns first, a pointer to it
/// (`*Pool` of `func NewPool(n int) (*Pool, error) {`).
fn result_type(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("func ")?;
    let open = rest.find('(')?;
    // After the parameters' closing parenthesis.
    let mut depth = 0usize;
    let close = scan(&rest[open..]).into_iter().find_map(|(i, c)| {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        None
    })?;
    let results = rest[open + close + 1..].trim_start();
    let first = results.trim_start_matches('(').strip_prefix('*')?;
    let ty = &first[..first
        .find(|c: char| !is_ident_char(c))
        .unwrap_or(first.len())];
    is_identifier(ty).then_some(ty)
}

/// The methods of type `ty` declared in `lines` (a package's files), with
/// those of the types it embeds.
fn methods_of<'a>(lines: &[&'a str], ty: &str) -> Vec<&'a str> {
    let mut types = vec![ty.to_string()];
    let mut methods = Vec::new();
    let mut i = 0;
    while i < types.len() && i < 8 {
        let t = types[i].clone();
        for line in lines {
            if let Some(m) = method_declared(line, &t) {
                methods.push(m);
            }
        }
        // Embedded fields of `type t struct {`: a line of one name.
        let head = format!("type {t} struct {{");
        let head_generic = format!("type {t}[");
        if let Some(at) = lines.iter().position(|l| {
            l.starts_with(&head) || (l.starts_with(&head_generic) && l.ends_with("struct {"))
        }) {
            for field in lines[at + 1..].iter().take_while(|l| !l.starts_with('}')) {
                let c = code(field);
                let name = c.trim_start_matches('*');
                let name = &name[..name.find('[').unwrap_or(name.len())];
                if is_identifier(name) && !types.iter().any(|t| t == name) {
                    types.push(name.to_string());
                }
            }
        }
        i += 1;
    }
    methods
}

/// The method a `func` line declares on type `ty` (either receiver).
fn method_declared<'a>(line: &'a str, ty: &str) -> Option<&'a str> {
    let (receiver, rest) = line.strip_prefix("func (")?.split_once(')')?;
    let recv = receiver.split_whitespace().last().unwrap_or("");
    let recv = recv.trim_start_matches('*');
    let recv = &recv[..recv.find('[').unwrap_or(recv.len())];
    let rest = rest.trim_start();
    let name = &rest[..rest.find(['(', '['])?];
    (recv == ty && is_identifier(name)).then_some(name)
}

/// The variable a line assigns the result of `function` to (`p` of
/// `p, err := ants.NewPool(10)`).
fn assigned_from<'a>(c: &'a str, function: &str) -> Option<&'a str> {
    let (lhs, rhs) = c.split_once(":=").or_else(|| c.split_once(" = "))?;
    let rhs = rhs.trim_start();
    let callee = &rhs[..rhs.find(['(', '['])?];
    if callee != function && !callee.ends_with(&format!(".{function}")) {
        return None;
    }
    let first = lhs.split(',').next()?.trim();
    is_identifier(first).then_some(first)
}

/// The channel `line` sends on (`ch <- v`, `s.out <- v`), if it is a send.
fn sent_on(line: &str) -> Option<&str> {
    let code = line.split("//").next()?;
    let (left, right) = code.split_once("<-")?;
    if right.trim().is_empty() {
        return None;
    }
    // The operand ends the left side: the last run of identifier
    // characters and dots (a go statement's `{ ch <- work() }` too).
    let left = left.trim_end();
    let start = run_start(left, |c| is_ident_char(c) || c == '.');
    let name = &left[start..];
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_');
    // `x := <-ch` or `case <-ch` receive: the left side ends in `:=`,
    // `=`, `case` or nothing.
    (valid && name != "case" && !left.ends_with('=')).then_some(name)
}

/// The characters of `line` outside string and rune literals, before a
/// `//` comment, with their byte offsets; and where its code ends (the
/// comment's start, or the line's end).
fn scan_code(line: &str) -> (Vec<(usize, char)>, usize) {
    let mut out = Vec::new();
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '`' || c == '\'' => quote = Some(c),
            None if c == '/' && line[i + 1..].starts_with('/') => return (out, i),
            None => out.push((i, c)),
        }
    }
    (out, line.len())
}

/// The characters of `line` outside literals and comments (see
/// [`scan_code`]).
fn scan(line: &str) -> Vec<(usize, char)> {
    scan_code(line).0
}

/// How many tabs a line starts with (its block depth, in gofmt's code).
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches('\t').len()
}

/// A line's code: without its `//` comment, trimmed.
fn code(line: &str) -> &str {
    line[..scan_code(line).1].trim()
}

/// `{` and `}` of a line, outside literals and comments: (opened, closed).
fn braces(line: &str) -> (usize, usize) {
    let s = scan(line);
    let count = |b| s.iter().filter(|&&(_, c)| c == b).count();
    (count('{'), count('}'))
}

/// The top-level `func` declaration around line `at` (0-based): its first
/// and last lines (the closing brace at the start of a line).
fn top_level_func(lines: &[&str], at: usize) -> Option<(usize, usize)> {
    let start = (0..=at).rev().find(|&i| lines[i].starts_with("func "))?;
    if lines[start + 1..at.max(start + 1)]
        .iter()
        .any(|l| l.starts_with('}'))
    {
        return None;
    }
    let end = (at..lines.len()).find(|&i| lines[i].starts_with('}'))?;
    Some((start, end))
}

/// The name a `func` line declares (`func f(`, `func (r *T) m(`).
fn decl_name(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("func ")?;
    let rest = if rest.starts_with('(') {
        rest.split_once(')')?.1.trim_start()
    } else {
        rest
    };
    let name = &rest[..rest.find(['(', '['])?];
    is_identifier(name).then_some(name)
}

/// The declared function of a Go symbol: `f` of `example.com/p.f.func1`
/// and of `example.com/p.(*T).f`; `T` of a value receiver's `p.T.f`.
fn function_name(symbol: &str) -> Option<&str> {
    let after = symbol.rfind('/').map_or(0, |i| i + 1);
    let rest = &symbol[after..];
    let rest = &rest[rest.find('.')? + 1..];
    let rest = match rest.strip_prefix('(') {
        Some(r) => r.split_once(").")?.1,
        None => rest,
    };
    let name = &rest[..rest.find(['.', '[']).unwrap_or(rest.len())];
    is_identifier(name).then_some(name)
}

/// Package, type and method of a method's symbol (`example.com/p.(*T).M`,
/// `example.com/p.T.M`, generics' `(*T[...])` too).
fn method_parts(symbol: &str) -> Option<(&str, &str, &str)> {
    let pkg = package_of(symbol);
    let rest = symbol.get(pkg.len() + 1..)?;
    let (ty, method) = match rest.strip_prefix("(*") {
        Some(r) => r.split_once(").")?,
        None => rest.split_once('.')?,
    };
    let ty = &ty[..ty.find('[').unwrap_or(ty.len())];
    (is_identifier(ty) && is_identifier(method)).then_some((pkg, ty, method))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Where the run of characters `of` that ends `s` starts.
fn run_start(s: &str, of: impl Fn(char) -> bool) -> usize {
    s.char_indices()
        .rev()
        .find(|&(_, c)| !of(c))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// The arguments of the parenthesised list `s` starts with (`(a, f(b), c)`),
/// split at its top-level commas, and what follows it.
fn arguments(s: &str) -> Option<Vec<&str>> {
    let mut depth = 0usize;
    let mut args = Vec::new();
    let mut from = 1;
    for (i, c) in scan(s) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    let last = s[from..i].trim();
                    if !last.is_empty() || !args.is_empty() {
                        args.push(last);
                    }
                    return Some(args);
                }
            }
            ',' if depth == 1 => {
                args.push(s[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// The call `s` starts with: its callee and arguments (`f(a, b)`).
fn call(s: &str) -> Option<(&str, Vec<&str>)> {
    let open = s.find('(')?;
    Some((&s[..open], arguments(&s[open..])?))
}

/// Every call of a plain function name in a line of code.
fn calls(c: &str) -> Vec<(&str, Vec<&str>)> {
    let mut out = Vec::new();
    for (i, ch) in scan(c) {
        if ch != '(' {
            continue;
        }
        let start = run_start(&c[..i], is_ident_char);
        let name = &c[start..i];
        if !is_identifier(name) || c[..start].ends_with('.') {
            continue;
        }
        if let Some(args) = arguments(&c[i..]) {
            out.push((name, args));
        }
    }
    out
}

/// The line declaring top-level function `name`.
fn find_func(lines: &[&str], name: &str) -> Option<usize> {
    let decl = format!("func {name}");
    lines.iter().position(|l| {
        l.strip_prefix(&decl)
            .is_some_and(|r| r.starts_with(['(', '[']))
    })
}

/// The parameter names of a `func name(..)` line, one per parameter.
fn params(line: &str) -> Option<Vec<&str>> {
    let rest = line.strip_prefix("func ")?;
    let open = rest.find('(')?;
    arguments(&rest[open..])?
        .into_iter()
        .map(|p| p.split_whitespace().next().filter(|n| is_identifier(n)))
        .collect()
}

/// What a `for .. range X {` line of code ranges over.
fn ranged_over(c: &str) -> Option<&str> {
    if !c.starts_with("for ") {
        return None;
    }
    let body = c.strip_suffix('{')?;
    let (_, over) = body
        .split_once(" range ")
        .or_else(|| body.strip_prefix("for range ").map(|r| ("", r)))?;
    let over = over.trim();
    (!over.is_empty()).then_some(over)
}

/// The line of the `}` closing the block that line `at` opens.
fn block_end(lines: &[&str], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, line) in lines.iter().enumerate().skip(at) {
        let (open, close) = braces(line);
        depth = (depth + open).checked_sub(close)?;
        if depth == 0 && (open > 0 || i > at) {
            return Some(i);
        }
    }
    None
}

/// The line that opens the innermost block around line `at`.
fn enclosing_block(lines: &[&str], at: usize) -> Option<usize> {
    let mut balance = 0isize;
    for i in (0..at).rev() {
        let (open, close) = braces(lines[i]);
        balance += open as isize - close as isize;
        if balance > 0 {
            return Some(i);
        }
    }
    None
}

/// The line of the `for {` loop (no condition) directly around line
/// `at`: `None` when the innermost block around it is anything else.
fn enclosing_for(lines: &[&str], at: usize) -> Option<usize> {
    enclosing_block(lines, at).filter(|&i| code(lines[i]) == "for {")
}

/// What leaves a loop early.
#[derive(Debug, Default, PartialEq)]
struct Exits {
    /// A `return`, or a `break` of the loop's own.
    certain: bool,
    /// A `goto`, a labelled `break` or `continue`, a panic or an exit.
    maybe: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Block {
    Func,
    Loop,
    Switch,
    Other,
}

/// The exits of the loop opened on line `at` and closed on line `end`.
fn loop_exits(lines: &[&str], at: usize, end: usize) -> Exits {
    let mut exits = Exits::default();
    let mut blocks: Vec<Block> = Vec::new();
    if at == end {
        return exits;
    }
    for line in &lines[at + 1..end] {
        let c = code(line);
        let mut statement_start = 0;
        let mut check = |s: &str, blocks: &[Block]| {
            let s = s.trim();
            // A case's statement: after its label's colon.
            let s = if s.starts_with("case ") || s.starts_with("default") {
                match s
                    .char_indices()
                    .find(|&(i, ch)| ch == ':' && !s[i + 1..].starts_with('='))
                {
                    Some((i, _)) => s[i + 1..].trim(),
                    None => "",
                }
            } else {
                s
            };
            let word = &s[..s.find(|ch: char| !is_ident_char(ch)).unwrap_or(s.len())];
            let arg = s[word.len()..].trim();
            let in_func = blocks.contains(&Block::Func);
            match word {
                "return" if !in_func => exits.certain = true,
                "break"
                    if arg.is_empty()
                        && !blocks
                            .iter()
                            .any(|b| matches!(b, Block::Loop | Block::Switch | Block::Func)) =>
                {
                    exits.certain = true
                }
                // The break of an inner loop, switch or select.
                "break" if arg.is_empty() => {}
                "break" | "goto" => exits.maybe = true,
                "continue" if !arg.is_empty() => exits.maybe = true,
                "panic" => exits.maybe = true,
                _ => {}
            }
            if [
                "os.Exit(",
                "runtime.Goexit(",
                "log.Fatal",
                ".Fatal",
                ".FailNow(",
                ".Skip",
            ]
            .iter()
            .any(|x| s.contains(x))
            {
                exits.maybe = true;
            }
        };
        for (i, ch) in scan(c) {
            match ch {
                '{' => {
                    let head = c[statement_start..i].trim();
                    let head = head.trim_start_matches(['}', ' ']);
                    let kind = if c[..i].contains("func(") || head.starts_with("func ") {
                        Block::Func
                    } else if head.starts_with("for ") || head == "for" {
                        Block::Loop
                    } else if head.starts_with("switch") || head.starts_with("select") {
                        Block::Switch
                    } else {
                        Block::Other
                    };
                    blocks.push(kind);
                    statement_start = i + 1;
                }
                '}' => {
                    check(&c[statement_start..i], &blocks);
                    blocks.pop();
                    statement_start = i + 1;
                }
                ';' => {
                    check(&c[statement_start..i], &blocks);
                    statement_start = i + 1;
                }
                _ => {}
            }
        }
        check(&c[statement_start..], &blocks);
    }
    exits
}

/// The (file, line) of a goroutine's own frames in its stack's text (not
/// its creator's, nor its ancestors').
fn own_frames(stack: &str) -> impl Iterator<Item = (&str, u32)> {
    stack
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("created by"))
        .filter_map(|l| l.strip_prefix('\t'))
        .filter_map(|l| {
            let at = l.split(" +0x").next()?;
            let (file, line) = at.rsplit_once(':')?;
            Some((file, line.parse().ok()?))
        })
}

/// The receiver of the `.method(` call on a line (`p` of `p.Go(f)`), a
/// plain variable.
fn receiver_of<'a>(c: &'a str, method: &str) -> Option<&'a str> {
    let at = c.find(&format!(".{method}("))?;
    let start = run_start(&c[..at], is_ident_char);
    let name = &c[start..at];
    (is_identifier(name) && !c[..start].ends_with('.')).then_some(name)
}

/// Where `name` occurs in `c` as a variable (not a field or part of
/// another name), with what follows it.
fn occurrences<'a>(c: &'a str, name: &str) -> Vec<(usize, &'a str)> {
    let mut out = Vec::new();
    for (i, _) in scan(c) {
        if !c[i..].starts_with(name) {
            continue;
        }
        let rest = &c[i + name.len()..];
        let before = c[..i].chars().next_back();
        if rest.starts_with(is_ident_char) || before.is_some_and(|b| is_ident_char(b) || b == '.') {
            continue;
        }
        out.push((i, rest));
    }
    out
}

/// Whether `name` at `pos` in `c` is declared or assigned there (`p :=`,
/// `p, err :=`, `p = `, `var p T`).
fn is_declaration(c: &str, pos: usize, name: &str) -> bool {
    if c.strip_prefix("var ")
        .is_some_and(|r| r.starts_with(name) && pos == 4)
    {
        return true;
    }
    let lhs = c
        .split_once(":=")
        .or_else(|| c.split_once(" = "))
        .map(|(l, _)| l);
    lhs.is_some_and(|l| pos < l.len() && l.split(',').all(|part| is_identifier(part.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::compare::ChainFrame;
    use crate::detect::stack::Snapshot;

    /// No directory lists any file.
    fn no_files(_: &str) -> Vec<String> {
        Vec::new()
    }

    #[test]
    fn hints_only_for_certain_shapes() {
        let dump = "goroutine 7 [IO wait]:\ninternal/poll.runtime_pollWait(0x1, 0x72)\n\t/usr/local/go/src/runtime/netpoll.go:351 +0x85\nnet/http.(*Server).Serve(0xc000)\n\t/usr/local/go/src/net/http/server.go:3434 +0x30\nnet/http/httptest.(*Server).goServe.func1()\n\t/usr/local/go/src/net/http/httptest/server.go:339 +0x1f\ncreated by net/http/httptest.(*Server).goServe in goroutine 6\n\t/usr/local/go/src/net/http/httptest/server.go:337 +0x89\n\n\
goroutine 10 [select]:\nnet/http.(*persistConn).readLoop(0xc000)\n\t/usr/local/go/src/net/http/transport.go:2450 +0xc05\ncreated by net/http.(*Transport).dialConn in goroutine 9\n\t/usr/local/go/src/net/http/transport.go:1994 +0x16ac\n\n\
goroutine 12 [IO wait]:\ninternal/poll.runtime_pollWait(0x1, 0x72)\n\t/usr/local/go/src/runtime/netpoll.go:351 +0x85\nbufio.(*Reader).Peek(0xc0, 0x1)\n\t/usr/local/go/src/bufio/bufio.go:152 +0x53\nnet/http.(*persistConn).readLoop(0xc000)\n\t/usr/local/go/src/net/http/transport.go:2280 +0x172\ncreated by net/http.(*Transport).dialConn in goroutine 9\n\t/usr/local/go/src/net/http/transport.go:1994 +0x16ac\n\n\
goroutine 14 [IO wait]:\ninternal/poll.runtime_pollWait(0x1, 0x72)\n\t/usr/local/go/src/runtime/netpoll.go:351 +0x85\nnet/http.(*Server).Serve(0xc000)\n\t/usr/local/go/src/net/http/server.go:3434 +0x30\ncreated by example.com/p.start in goroutine 6\n\t/src/p/p.go:12 +0x89\n";
        let s = Snapshot::parse(dump);
        let hints: Vec<_> = s.goroutines.iter().map(hint_for).collect();
        assert!(hints[0].unwrap().contains("srv.Close()"));
        assert!(hints[1].unwrap().contains("resp.Body.Close()"));
        assert_eq!(hints[2], None, "an idle keep-alive connection");
        assert_eq!(hints[3], None, "the test's own http.Server");

        // The body's hint with a creation chain: only when the request is
        // the test's own, or its maker unknown.
        let frame = |function: &str, file: &str| ChainFrame {
            function: function.into(),
            file: file.into(),
            line: 1,
            goroutine: 9,
        };
        let std = |f: &ChainFrame| f.file.starts_with("/usr/local/go/");
        let transport = frame(
            "net/http.(*Transport).dialConn",
            "/usr/local/go/src/net/http/transport.go",
        );
        let reader = &s.goroutines[1];
        let by_test = [
            transport.clone(),
            frame("example.com/p.TestGet", "/m/p/p_test.go"),
        ];
        assert!(hint_in_chain(reader, &by_test, std).is_some());
        assert!(
            hint_in_chain(reader, &by_test[..1], std).is_some(),
            "no chain"
        );
        // A library made the request (and may have dropped the response):
        // whose code should close it is not certain.
        let by_library = [
            transport,
            frame("example.com/lib.(*Client).do", "/m/lib/client.go"),
            frame("example.com/p.TestGet", "/m/p/p_test.go"),
        ];
        assert_eq!(hint_in_chain(reader, &by_library, std), None);
        // Other hints do not depend on it.
        assert!(hint_in_chain(&s.goroutines[0], &by_library, std).is_some());
    }

    const FETCH: &str = "package p

func fetch(timeout time.Duration, work func() string) (string, error) {
\tch := make(chan string)
\tgo func() { ch <- work() }()
\tselect {
\tcase r := <-ch: // the result
\t\treturn r, nil
\tcase <-time.After(timeout):
\t\treturn \"\", errTimeout
\t}
}

func lost() {
\tch := make(chan int)
\tgo func() { ch <- 1 }()
}
";

    fn send_leak(line: u32, created: u32) -> Leak {
        Leak {
            state: "chan send".into(),
            file: "/m/p/p.go".into(),
            line,
            created_by: Some(crate::detect::compare::Location {
                function: "example.com/p.fetch".into(),
                file: "/m/p/p.go".into(),
                line: created,
            }),
            ..Leak::example()
        }
    }

    #[test]
    fn a_send_a_select_gave_up_on_gets_a_hint_and_a_send_nobody_reads_none() {
        let read = |f: &str| (f == "/m/p/p.go").then(|| FETCH.to_string());
        let hint = from_source(&send_leak(5, 5), &[], read, no_files).unwrap();
        assert!(
            hint.starts_with("the select that receives from ch"),
            "{hint}"
        );
        assert_eq!(from_source(&send_leak(16, 16), &[], read, no_files), None);
        // Unreadable source, another state: none.
        assert_eq!(from_source(&send_leak(5, 5), &[], |_| None, no_files), None);
        let receive = Leak {
            state: "chan receive".into(),
            ..send_leak(5, 5)
        };
        assert_eq!(from_source(&receive, &[], read, no_files), None);
    }

    #[test]
    fn sends_and_receives() {
        assert_eq!(sent_on("\tgo func() { ch <- work() }()"), Some("ch"));
        assert_eq!(sent_on("\t\ts.out <- v // send"), Some("s.out"));
        assert_eq!(sent_on("\tv := <-ch"), None);
        assert_eq!(sent_on("\tcase <-ch:"), None);
        assert_eq!(sent_on("\tx = <-ch"), None);
        assert_eq!(sent_on("\tclose(ch)"), None);
    }

    /// A leak of `state` blocked at `file:line` in `function`, created at
    /// `created` (file, line) by `creator`.
    fn leak_at(
        state: &str,
        function: &str,
        (file, line): (&str, u32),
        creator: &str,
        created: (&str, u32),
    ) -> Leak {
        Leak {
            state: state.into(),
            function: function.into(),
            file: file.into(),
            line,
            created_by: Some(crate::detect::compare::Location {
                function: creator.into(),
                file: created.0.into(),
                line: created.1,
            }),
            stack: format!(
                "goroutine 7 [{state}]:\n{function}()\n\t{file}:{line} +0x1d\ncreated by {creator} in goroutine 6\n\t{}:{} +0x2f\n",
                created.0, created.1
            ),
            ..Leak::example()
        }
    }

    const PRODUCERS: &str = "package p

func produce(out chan<- int) {
\tfor i := 0; ; i++ {
\t\tout <- i
\t}
}

func consume(in <-chan int, n int) (got []int) {
\tfor v := range in {
\t\tgot = append(got, v)
\t\tif len(got) == n {
\t\t\tbreak
\t\t}
\t}
\treturn got
}

func firstTwo() []int {
\tout := make(chan int)
\tgo produce(out)
\treturn consume(out, 2)
}

func firstMatch() {
\tch := make(chan int)
\tgo func() {
\t\tfor i := 0; ; i++ {
\t\t\tch <- i
\t\t}
\t}()
\tfor v := range ch {
\t\tif v == 3 {
\t\t\treturn
\t\t}
\t}
}

func drain(in <-chan int, quit <-chan bool) {
\tfor v := range in {
\t\tselect {
\t\tcase <-quit:
\t\t\tbreak
\t\tdefault:
\t\t}
\t\t_ = v
\t}
}

func selectBreaks() {
\tch := make(chan int)
\tgo produce(ch)
\tdrain(ch, nil)
}

func twoValues() {
\tch := make(chan int)
\tgo produce(ch)
\t<-ch
\t<-ch
}
";

    fn producer(line: u32, function: &str, creator: &str, created: u32) -> Leak {
        leak_at(
            "chan send",
            &format!("example.com/p.{function}"),
            ("/m/p/p.go", line),
            &format!("example.com/p.{creator}"),
            ("/m/p/p.go", created),
        )
    }

    #[test]
    fn a_producer_whose_range_consumer_stopped_early_gets_a_hint() {
        let read = |f: &str| (f == "/m/p/p.go").then(|| PRODUCERS.to_string());
        // Through go produce(out) and consume(out, 2): consume's loop breaks.
        let through = producer(5, "produce", "firstTwo", 21);
        let hint = from_source(&through, std::slice::from_ref(&through), read, no_files).unwrap();
        assert!(
            hint.starts_with("the consumer's for-range loop over in stops early"),
            "{hint}"
        );
        // A go func() literal and the creator's own loop, which returns.
        let literal = producer(29, "firstMatch.func1", "firstMatch", 27);
        let hint = from_source(&literal, std::slice::from_ref(&literal), read, no_files).unwrap();
        assert!(hint.contains("loop over ch stops early"), "{hint}");
        // The consumer still in its loop (blocked in its body): none.
        let consumer = leak_at(
            "chan receive",
            "example.com/p.consume",
            ("/m/p/p.go", 11),
            "example.com/p.firstTwo",
            ("/m/p/p.go", 22),
        );
        assert_eq!(
            from_source(&through, &[through.clone(), consumer], read, no_files),
            None
        );
        // A break of a select inside the loop does not leave it; nobody
        // ranges over the channel: none.
        assert_eq!(
            from_source(
                &producer(5, "produce", "selectBreaks", 52),
                &[],
                read,
                no_files
            ),
            None
        );
        assert_eq!(
            from_source(
                &producer(5, "produce", "twoValues", 58),
                &[],
                read,
                no_files
            ),
            None
        );
        // Another creator line than a go statement, or unreadable: none.
        assert_eq!(
            from_source(&producer(5, "produce", "firstTwo", 20), &[], read, no_files),
            None
        );
        assert_eq!(from_source(&through, &[], |_| None, no_files), None);
    }

    const TICKERS: &str = "package p

func ranges() {
\tticker := time.NewTicker(time.Second)
\tgo func() {
\t\tfor range ticker.C {
\t\t\twork()
\t\t}
\t}()
}

func receives(tk *time.Ticker) {
\tfor {
\t\t<-tk.C
\t\twork()
\t}
}

func selects() {
\tt1 := time.NewTicker(time.Second)
\tvar t2 *time.Ticker
\tt2 = time.NewTicker(time.Minute)
\tfor {
\t\tselect {
\t\tcase <-t1.C:
\t\t\tfast()
\t\tcase <-t2.C:
\t\t\tslow()
\t\t}
\t}
}

func withQuit(quit chan bool) {
\tticker := time.NewTicker(time.Second)
\tfor {
\t\tselect {
\t\tcase <-ticker.C:
\t\tcase <-quit:
\t\t\treturn
\t\t}
\t}
}

func returns(s *state) {
\tticker := time.NewTicker(time.Second)
\tfor range ticker.C {
\t\tif s.done() {
\t\t\treturn
\t\t}
\t}
}

func field(s *server) {
\tfor range s.ticker.C {
\t}
}

func guarded(tk *time.Ticker) {
\tfor {
\t\tif ok() {
\t\t\t<-tk.C
\t\t}
\t}
}

func notATicker(t *timer) {
\tfor range t.C {
\t}
}
";

    fn ticker_leak(state: &str, line: u32) -> Leak {
        leak_at(
            state,
            "example.com/p.f",
            ("/m/p/t.go", line),
            "example.com/p.g",
            ("/m/p/g.go", 1),
        )
    }

    #[test]
    fn a_ticker_loop_with_no_way_out_gets_a_hint_and_one_with_a_quit_channel_none() {
        let read = |f: &str| (f == "/m/p/t.go").then(|| TICKERS.to_string());
        let hint = |state, line| from_source(&ticker_leak(state, line), &[], read, no_files);
        let ranges = hint("chan receive", 6).unwrap();
        assert!(
            ranges.starts_with("this loop over ticker.C never ends"),
            "{ranges}"
        );
        assert!(ranges.contains("defer ticker.Stop()"), "{ranges}");
        assert!(hint("chan receive", 14).unwrap().contains("tk.C"));
        assert!(hint("select", 24).unwrap().contains("t1.C"));
        // A way out: a quit channel, a return; or not surely a ticker: none.
        assert_eq!(hint("select", 36), None);
        assert_eq!(hint("chan receive", 46), None);
        assert_eq!(hint("chan receive", 54), None);
        assert_eq!(hint("chan receive", 61), None);
        assert_eq!(hint("chan receive", 67), None);
        // The state must match the line.
        assert_eq!(hint("chan send", 6), None);
        assert_eq!(hint("select", 6), None);
        assert_eq!(hint("chan send", 7), None);
        // Caught running, a tick just received: at the loop's line or in
        // its body, the same loop (the hint does not depend on the moment
        // of the dump).
        assert_eq!(hint("runnable", 6), Some(ranges.clone()));
        assert_eq!(hint("running", 7), Some(ranges.clone()));
        assert!(hint("runnable", 24).unwrap().contains("t1.C"));
        // Running in a loop with a way out: none.
        assert_eq!(hint("runnable", 47), None);
    }

    const WORKERS: &str = "package workers

type Group struct{ wg sync.WaitGroup }

func (g *Group) Go(task func()) {
\tgo task()
}

func (g *Group) Wait() { g.wg.Wait() }

type Pool[T any] struct {
\t*poolCommon
\tsize int
}

func NewPool[T any](size int) (*Pool[T], error) {
\tp := &Pool[T]{size: size}
\tgo p.purge()
\treturn p, nil
}

func (p *Pool[T]) Submit(task func()) {
\tgo p.work()
}

type Queue struct{}

func (q *Queue) Go(task func()) { go task() }
";

    /// The pool's Release, on the type it embeds, in another file.
    const COMMON: &str = "package workers

type poolCommon struct{ quit chan struct{} }

func (p *poolCommon) Release() { close(p.quit) }
";

    const POOL_TESTS: &str = "package app

func TestNeverWaited(t *testing.T) {
\tvar g workers.Group
\tg.Go(func() { <-block }) // line 5
}

func TestWaited(t *testing.T) {
\tg, ctx := workers.WithContext(ctx)
\tdefer g.Wait()
\tg.Go(func() { <-block }) // line 11
}

func TestNeverReleased(t *testing.T) {
\tp, _ := workers.NewPool[int](1) // line 15
\tp.Submit(func() {}) // line 16
\tt.Run(\"sub\", func(t *testing.T) {
\t\tp.Submit(func() {}) // line 18
\t})
}

func TestCleanup(t *testing.T) {
\tp, _ := workers.NewPool[int](1) // line 23
\tt.Cleanup(p.Release)
\tp.Submit(func() {}) // line 25
}

func TestHandedOn(t *testing.T) {
\tp, _ := workers.NewPool[int](1)
\tkeep(p)
\tp.Submit(func() {}) // line 31
}

func TestField(t *testing.T) {
\ts.pool.Submit(func() {}) // line 35
}

func TestQueue(t *testing.T) {
\tq := &workers.Queue{}
\tq.Go(func() {}) // line 40
}

func TestTwins(t *testing.T) {
\tt.Run(\"before\", func(t *testing.T) {
\t\tg := workers.New()
\t\tg.Go(func() {}) // line 46
\t\tcheck(func() { g.Limit(1) })
\t})
\tt.Run(\"after\", func(t *testing.T) {
\t\tg := workers.New()
\t\tg.Go(func() {}) // line 51
\t\tg.Wait()
\t})
}
";

    /// A pool's goroutine: created by `method` (at workers.go), called
    /// from the test's line `via`, blocked in `blocked`.
    fn pool_leak(method: &str, via: u32, blocked: &str) -> Leak {
        let frame = |function: &str, file: &str, line| ChainFrame {
            function: function.into(),
            file: file.into(),
            line,
            goroutine: 6,
        };
        let test = "example.com/m/app.TestX";
        Leak {
            state: "select".into(),
            function: blocked.into(),
            via: Some(crate::detect::compare::Location {
                function: test.into(),
                file: "/m/app/app_test.go".into(),
                line: via,
            }),
            chain: vec![
                frame(method, "/m/workers/workers.go", 6),
                frame(test, "/m/app/app_test.go", via),
                frame("testing.tRunner", "/go/src/testing/testing.go", 1934),
            ],
            ..Leak::example()
        }
    }

    #[test]
    fn a_pool_never_waited_for_or_released_gets_a_hint_and_one_released_none() {
        let list = |d: &str| match d {
            "/m/workers" => vec![
                "/m/workers/workers.go".to_string(),
                "/m/workers/common.go".to_string(),
                "/m/workers/workers_test.go".to_string(),
            ],
            _ => Vec::new(),
        };
        let read = |f: &str| match f {
            "/m/workers/workers.go" => Some(WORKERS.to_string()),
            "/m/workers/common.go" => Some(COMMON.to_string()),
            "/m/workers/workers_test.go" => Some("func (q *Queue) Wait() {}".to_string()),
            "/m/app/app_test.go" => Some(POOL_TESTS.to_string()),
            _ => None,
        };
        let group = "example.com/m/workers.(*Group).Go";
        let pool = "example.com/m/workers.(*Pool[...]).Submit";
        let idle = "example.com/m/workers.(*Pool[...]).work";
        let task = "example.com/m/app.TestX.func1";
        let hint =
            |method, via, blocked| from_source(&pool_leak(method, via, blocked), &[], read, list);
        let wait = hint(group, 5, task).unwrap();
        assert!(
            wait.starts_with("g.Wait() is never called, so the Group's"),
            "{wait}"
        );
        let release = hint(pool, 16, idle).unwrap();
        assert!(
            release.starts_with("p.Release() is never called"),
            "{release}"
        );
        // From a subtest's closure, the same pool.
        assert!(hint(pool, 18, idle).is_some());
        // The constructor's own goroutines (a generic function's symbol).
        let new = "example.com/m/workers.NewPool[...]";
        let purge = "example.com/m/workers.(*Pool[...]).purge";
        assert!(hint(new, 15, purge)
            .unwrap()
            .starts_with("p.Release() is never called"));
        assert_eq!(hint(new, 23, purge), None);
        assert_eq!(hint(new, 15, task), None);
        // Subtests with a variable of the same name each: the one that
        // never waits gets it, whatever its sibling does with its own.
        assert!(hint(group, 46, task)
            .unwrap()
            .starts_with("g.Wait() is never called"));
        assert_eq!(hint(group, 51, task), None);
        // Waited for, released by cleanup, handed on, a field: none.
        assert_eq!(hint(group, 11, task), None);
        assert_eq!(hint(pool, 25, idle), None);
        assert_eq!(hint(pool, 31, idle), None);
        assert_eq!(hint(pool, 35, idle), None);
        // A released pool's worker stuck in a task: Release would not end it.
        assert_eq!(hint(pool, 16, task), None);
        // A type with neither Wait nor Release; the standard library's
        // sync.WaitGroup; no via line (no chains): none.
        assert_eq!(hint("example.com/m/workers.(*Queue).Go", 40, task), None);
        assert_eq!(hint("sync.(*WaitGroup).Go", 5, task), None);
        let no_via = Leak {
            via: None,
            ..pool_leak(group, 5, task)
        };
        assert_eq!(from_source(&no_via, &[], read, list), None);
        // The frame before via in another goroutine: via's function ran
        // the go statement itself.
        let mut other = pool_leak(group, 5, task);
        other.chain[0].goroutine = 9;
        assert_eq!(from_source(&other, &[], read, list), None);
    }

    #[test]
    fn source_lines() {
        assert_eq!(code("\tx := \"a // b\" // c"), "x := \"a // b\"");
        assert_eq!(braces("\ts := \"{\" + `}` // {"), (0, 0));
        assert_eq!(
            params("func consume(in <-chan int, n int, f func(a, b int)) {"),
            Some(vec!["in", "n", "f"])
        );
        assert_eq!(
            calls("\tgo consume(out, f(2, 3), \"x,y\")"),
            [
                ("consume", vec!["out", "f(2, 3)", "\"x,y\""]),
                ("f", vec!["2", "3"])
            ]
        );
        assert_eq!(ranged_over("for _, v := range s.items {"), Some("s.items"));
        assert_eq!(ranged_over("for range ticker.C {"), Some("ticker.C"));
        assert_eq!(ranged_over("for i := 0; i < n; i++ {"), None);
        assert_eq!(function_name("example.com/p.(*T).run.func1"), Some("run"));
        assert_eq!(function_name("example.com/a/b.F[...].func2"), Some("F"));
        assert_eq!(
            method_parts("github.com/sourcegraph/conc.(*WaitGroup).Go"),
            Some(("github.com/sourcegraph/conc", "WaitGroup", "Go"))
        );
        assert_eq!(
            method_parts("golang.org/x/sync/errgroup.(*Group).Go"),
            Some(("golang.org/x/sync/errgroup", "Group", "Go"))
        );
        assert_eq!(
            method_declared("func (p *Pool[T]) Release() {", "Pool"),
            Some("Release")
        );
        assert_eq!(
            method_declared("func (p *Pool) Waiting() int {", "Pool"),
            Some("Waiting")
        );
        assert_eq!(
            method_declared("func (q *Queue) Go(f func()) {", "Pool"),
            None
        );
        assert_eq!(
            result_type("func NewPool(size int, options ...Option) (*Pool, error) {"),
            Some("Pool")
        );
        assert_eq!(
            result_type("func New[T any](f func(T)) *Group[T] {"),
            Some("Group")
        );
        assert_eq!(result_type("func New() Pool {"), None);
        assert_eq!(
            assigned_from("p, _ := ants.NewPool(10)", "NewPool"),
            Some("p")
        );
        assert_eq!(
            assigned_from("p := other.Make(ants.NewPool(1))", "NewPool"),
            None
        );
        assert_eq!(receiver_of("p.Submit(func() {", "Submit"), Some("p"));
        assert_eq!(receiver_of("s.p.Submit(f)", "Submit"), None);
        // Non-ASCII before a name is no char boundary problem.
        assert_eq!(receiver_of("x := \"é\"+ é·p.Go(f)", "Go"), Some("p"));
        assert_eq!(sent_on("\t→ch <- 1"), Some("ch"));
        assert_eq!(calls("→f(x)"), [("f", vec!["x"])]);
    }

    #[test]
    fn loop_exits_are_the_loops_own() {
        let exits = |body: &str| {
            let text = format!("for {{\n{body}\n}}");
            let lines: Vec<&str> = text.lines().collect();
            let end = block_end(&lines, 0).unwrap();
            let e = loop_exits(&lines, 0, end);
            (e.certain, e.maybe)
        };
        assert_eq!(exits("\tif x {\n\t\treturn\n\t}"), (true, false));
        assert_eq!(exits("\tif x { break }"), (true, false));
        assert_eq!(
            exits("\tselect {\n\tcase <-q:\n\t\tbreak\n\t}"),
            (false, false)
        );
        assert_eq!(exits("\tselect {\n\tcase <-q: return\n\t}"), (true, false));
        assert_eq!(exits("\tfor {\n\t\tbreak\n\t}"), (false, false));
        assert_eq!(exits("\tgo func() {\n\t\treturn\n\t}()"), (false, false));
        assert_eq!(exits("\tbreak outer"), (false, true));
        assert_eq!(exits("\tif bad { panic(x) }"), (false, true));
        assert_eq!(exits("\twork()"), (false, false));
    }
}
