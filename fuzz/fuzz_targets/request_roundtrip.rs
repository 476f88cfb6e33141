//! Commands generated from the input, written the ways clients write them —
//! multibulk with `encode_command`, inline with double-quoted escapes (`"\x00"`,
//! `"\n"`...), inline single-quoted (`'it\'s'`), plain inline words — then parsed
//! back by `RequestParser`, whole and split at arbitrary points: the same commands
//! must come out, and the stream must be consumed exactly.
#![no_main]

use bytes::BytesMut;
use emberkv_protocol::{Limits, RequestParser, encode_command};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

type Cmd = Vec<Vec<u8>>;

fn spaces(u: &mut Unstructured<'_>, out: &mut Vec<u8>, min: usize) -> Result<()> {
    for _ in 0..min + usize::from(u.int_in_range(0u8..=2)?) {
        out.push(*u.choose(b"  \t")?);
    }
    Ok(())
}

fn double_quoted(u: &mut Unstructured<'_>, arg: &[u8], out: &mut Vec<u8>) -> Result<()> {
    out.push(b'"');
    for &b in arg {
        let named = match b {
            b'\n' => Some(b'n'),
            b'\r' => Some(b'r'),
            b'\t' => Some(b't'),
            0x08 => Some(b'b'),
            0x07 => Some(b'a'),
            b'"' | b'\\' => Some(b),
            _ => None,
        };
        match named {
            Some(c) if u.arbitrary::<bool>()? => out.extend_from_slice(&[b'\\', c]),
            _ if b.is_ascii_alphanumeric() || (b == b' ' && u.arbitrary::<bool>()?) => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
    Ok(())
}

/// A command as one inline line, or `None` if its arguments cannot be written in
/// the chosen style.
fn inline(u: &mut Unstructured<'_>, cmd: &Cmd) -> Result<Option<Vec<u8>>> {
    let style = u.int_in_range(0u8..=2)?;
    let mut line = Vec::new();
    spaces(u, &mut line, 0)?;
    for (i, arg) in cmd.iter().enumerate() {
        if i > 0 {
            spaces(u, &mut line, 1)?;
        }
        match style {
            0 => double_quoted(u, arg, &mut line)?,
            1 => {
                // Single quotes: only \' is an escape; a backslash before the closing
                // quote would escape it, and a newline would end the line.
                if arg.iter().any(|&b| b == 0 || b == b'\n' || b == b'\\') {
                    return Ok(None);
                }
                line.push(b'\'');
                for &b in arg {
                    if b == b'\'' {
                        line.push(b'\\');
                    }
                    line.push(b);
                }
                line.push(b'\'');
            }
            _ => {
                let special = |b: &u8| b" \t\r\n\"'\x00\x0b\x0c".contains(b);
                if arg.is_empty() || arg.iter().any(special) {
                    return Ok(None);
                }
                line.extend_from_slice(arg);
            }
        }
    }
    spaces(u, &mut line, 0)?;
    if line.first() == Some(&b'*') {
        return Ok(None);
    }
    line.extend_from_slice(if u.arbitrary::<bool>()? {
        b"\r\n"
    } else {
        b"\n"
    });
    Ok(Some(line))
}

fn build(u: &mut Unstructured<'_>) -> Result<(Vec<Cmd>, Vec<u8>)> {
    let mut cmds = Vec::new();
    let mut stream = BytesMut::new();
    while !u.is_empty() && cmds.len() < 64 {
        let cmd: Cmd = u.arbitrary()?;
        if cmd.len() > 32 {
            continue;
        }
        if u.arbitrary::<bool>()? {
            encode_command(&mut stream, &cmd);
        } else if let Some(line) = inline(u, &cmd)? {
            stream.extend_from_slice(&line);
        } else {
            continue;
        }
        cmds.push(cmd);
    }
    Ok((cmds, stream.to_vec()))
}

fn parse(stream: &[u8], chunks: &[u8]) -> Vec<Cmd> {
    let mut p = RequestParser::new(Limits::default());
    let mut out = Vec::new();
    let (mut start, mut avail) = (0, 0);
    let mut chunks = chunks.iter().cycle();
    loop {
        match p.next(&stream[start..avail]).expect("a valid stream") {
            Some(n) => {
                out.push(
                    p.argv(&stream[start..start + n])
                        .map(<[u8]>::to_vec)
                        .collect(),
                );
                start += n;
            }
            None if avail < stream.len() => {
                let step = chunks.next().map_or(stream.len(), |&c| usize::from(c) + 1);
                avail = (avail + step).min(stream.len());
            }
            None => break,
        }
    }
    assert_eq!(start, stream.len(), "bytes left over");
    out
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(chunks) = u.arbitrary::<Vec<u8>>() else {
        return;
    };
    let Ok((cmds, stream)) = build(&mut u) else {
        return;
    };
    assert_eq!(parse(&stream, &[]), cmds, "whole stream");
    assert_eq!(parse(&stream, &chunks), cmds, "stream in pieces");
    assert_eq!(parse(&stream, &[0]), cmds, "byte by byte");
});
