//! Reply formatting, in both output modes, against what `redis-cli` 7 prints.
//!
//! The expected texts of the nested replies were captured from `redis-cli`
//! 7.0 (terminal and pipe) talking to `redis-server` 7.0, with the wire bytes
//! of the same replies.

use bytes::Bytes;
use emberkv_client::Frame;
use emberkv_client::format::{OutputMode, format_reply, repr};

fn standard(frame: &Frame) -> String {
    String::from_utf8(format_reply(frame, OutputMode::Standard)).expect("utf-8")
}

fn raw(frame: &Frame) -> Vec<u8> {
    format_reply(frame, OutputMode::Raw)
}

fn parse(wire: &[u8]) -> Frame {
    let (frame, used) = Frame::parse(wire).expect("valid").expect("complete");
    assert_eq!(used, wire.len());
    frame
}

fn s(text: &str) -> Frame {
    Frame::Simple(text.into())
}

fn b(text: &str) -> Frame {
    Frame::bulk(text)
}

#[test]
fn simple_strings() {
    assert_eq!(standard(&s("OK")), "OK\n");
    assert_eq!(raw(&s("OK")), b"OK\n");
}

#[test]
fn errors() {
    let e = Frame::Error("ERR unknown command 'foo', with args beginning with: ".into());
    assert_eq!(
        standard(&e),
        "(error) ERR unknown command 'foo', with args beginning with: \n"
    );
    // redis-cli ends an error with a newline of its own, then the reply's.
    assert_eq!(
        raw(&e),
        b"ERR unknown command 'foo', with args beginning with: \n\n"
    );
}

#[test]
fn integers() {
    assert_eq!(standard(&Frame::Integer(-42)), "(integer) -42\n");
    assert_eq!(raw(&Frame::Integer(-42)), b"-42\n");
}

#[test]
fn bulk_strings_are_quoted_and_escaped_on_terminals() {
    assert_eq!(standard(&b("1")), "\"1\"\n");
    assert_eq!(standard(&b("")), "\"\"\n");
    let nasty = Frame::bulk(b"\x00\x01\"q\\ \n\r\t\x07\x08\xff\x7f\x80 \xc3\xa9~");
    // Exactly as redis-cli 7.0 printed this value.
    assert_eq!(
        standard(&nasty),
        "\"\\x00\\x01\\\"q\\\\ \\n\\r\\t\\a\\b\\xff\\x7f\\x80 \\xc3\\xa9~\"\n"
    );
    let mut expected = b"\x00\x01\"q\\ \n\r\t\x07\x08\xff\x7f\x80 \xc3\xa9~".to_vec();
    expected.push(b'\n');
    assert_eq!(raw(&nasty), expected);
}

#[test]
fn repr_escapes_every_byte_like_sdscatrepr() {
    let all: Vec<u8> = (0..=255).collect();
    let mut out = Vec::new();
    repr(&all, &mut out);
    let text = String::from_utf8(out).expect("ascii");
    assert!(
        text.starts_with("\"\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\a\\b\\t\\n\\x0b\\x0c\\r\\x0e")
    );
    assert!(text.contains(" !\\\"#$%&'()*+,-./0123456789"));
    assert!(text.contains("XYZ[\\\\]^_`abc"));
    assert!(text.contains("{|}~\\x7f\\x80\\x81"));
    assert!(text.ends_with("\\xfe\\xff\""));
}

#[test]
fn nil() {
    assert_eq!(standard(&Frame::Null), "(nil)\n");
    assert_eq!(raw(&Frame::Null), b"\n");
}

#[test]
fn arrays() {
    let list = Frame::Array(vec![b("a"), b("b"), b("c d"), b("")]);
    assert_eq!(standard(&list), "1) \"a\"\n2) \"b\"\n3) \"c d\"\n4) \"\"\n");
    assert_eq!(raw(&list), b"a\nb\nc d\n\n");
    assert_eq!(standard(&Frame::Array(vec![])), "(empty array)\n");
    assert_eq!(raw(&Frame::Array(vec![])), b"\n");
}

#[test]
fn index_column_widens_at_ten() {
    let list = Frame::Array((1..=11).map(|i| b(&i.to_string())).collect());
    let expected = " 1) \"1\"\n 2) \"2\"\n 3) \"3\"\n 4) \"4\"\n 5) \"5\"\n 6) \"6\"\n 7) \"7\"\n 8) \"8\"\n 9) \"9\"\n10) \"10\"\n11) \"11\"\n";
    assert_eq!(standard(&list), expected);
}

#[test]
fn nested_arrays_are_indented() {
    // ZRANGE z 0 -1 WITHSCORES on RESP3.
    let reply =
        parse(b"*3\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3.25\r\n");
    assert_eq!(
        standard(&reply),
        "1) 1) \"a\"\n   2) (double) 1.5\n2) 1) \"b\"\n   2) (double) 2\n3) 1) \"c\"\n   2) (double) 3.25\n"
    );
    assert_eq!(raw(&reply), b"a\n1.5\nb\n2\nc\n3.25\n");
}

#[test]
fn doubles() {
    assert_eq!(standard(&Frame::Double(1.5)), "(double) 1.5\n");
    assert_eq!(standard(&Frame::Double(0.1)), "(double) 0.1\n");
    assert_eq!(standard(&Frame::Double(2.0)), "(double) 2\n");
    assert_eq!(standard(&Frame::Double(f64::INFINITY)), "(double) inf\n");
    assert_eq!(raw(&Frame::Double(-3.25)), b"-3.25\n");
}

#[test]
fn booleans() {
    assert_eq!(standard(&Frame::Boolean(true)), "(true)\n");
    assert_eq!(standard(&Frame::Boolean(false)), "(false)\n");
    assert_eq!(raw(&Frame::Boolean(true)), b"(true)\n");
    assert_eq!(raw(&Frame::Boolean(false)), b"(false)\n");
}

#[test]
fn big_numbers() {
    let n = Frame::BigNumber("1234567999999999999999999999999999999".into());
    assert_eq!(
        standard(&n),
        "(big number) 1234567999999999999999999999999999999\n"
    );
    assert_eq!(raw(&n), b"1234567999999999999999999999999999999\n");
}

#[test]
fn verbatim_strings_are_printed_as_they_are() {
    let v = Frame::Verbatim {
        format: "txt".into(),
        text: Bytes::from_static(b"This is a verbatim\nstring"),
    };
    assert_eq!(standard(&v), "This is a verbatim\nstring\n");
    assert_eq!(raw(&v), b"This is a verbatim\nstring\n");
}

#[test]
fn sets() {
    let set = Frame::Set(vec![
        Frame::Integer(0),
        Frame::Integer(1),
        Frame::Integer(2),
    ]);
    assert_eq!(
        standard(&set),
        "1~ (integer) 0\n2~ (integer) 1\n3~ (integer) 2\n"
    );
    assert_eq!(raw(&set), b"0\n1\n2\n");
    assert_eq!(standard(&Frame::Set(vec![])), "(empty set)\n");
}

#[test]
fn maps() {
    let map = Frame::Map(vec![
        (Frame::Integer(0), Frame::Boolean(false)),
        (Frame::Integer(1), Frame::Boolean(true)),
    ]);
    assert_eq!(
        standard(&map),
        "1# (integer) 0 => (false)\n2# (integer) 1 => (true)\n"
    );
    assert_eq!(raw(&map), b"0 (false)\n1 (true)\n");
    assert_eq!(standard(&Frame::Map(vec![])), "(empty hash)\n");
    assert_eq!(raw(&Frame::Map(vec![])), b"\n");
}

#[test]
fn hello_3() {
    let hello = Frame::Map(vec![
        (b("server"), b("redis")),
        (b("version"), b("7.0.15")),
        (b("proto"), Frame::Integer(3)),
        (b("id"), Frame::Integer(35)),
        (b("mode"), b("standalone")),
        (b("role"), b("master")),
        (b("modules"), Frame::Array(vec![])),
    ]);
    assert_eq!(
        standard(&hello),
        "1# \"server\" => \"redis\"\n2# \"version\" => \"7.0.15\"\n3# \"proto\" => (integer) 3\n\
         4# \"id\" => (integer) 35\n5# \"mode\" => \"standalone\"\n6# \"role\" => \"master\"\n\
         7# \"modules\" => (empty array)\n"
    );
    assert_eq!(
        raw(&hello),
        b"server redis\nversion 7.0.15\nproto 3\nid 35\nmode standalone\nrole master\nmodules \n"
    );
}

#[test]
fn push_messages_read_like_arrays() {
    let push = Frame::Push(vec![b("server-cpu-usage"), Frame::Integer(42)]);
    assert_eq!(
        standard(&push),
        "1) \"server-cpu-usage\"\n2) (integer) 42\n"
    );
    assert_eq!(standard(&Frame::Push(vec![])), "(empty push)\n");
}

/// `COMMAND DOCS get` on RESP3: a map value that spans lines starts on a new one.
#[test]
fn multiline_map_values_start_on_their_own_line() {
    let reply = parse(
        b"%1\r\n$3\r\nget\r\n%5\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    );
    let expected = "\
1# \"get\" => 
   1# \"summary\" => \"Get the value of a key\"
   2# \"since\" => \"1.0.0\"
   3# \"group\" => \"string\"
   4# \"complexity\" => \"O(1)\"
   5# \"arguments\" => 
      1) 1# \"name\" => \"key\"
         2# \"type\" => \"key\"
         3# \"key_spec_index\" => (integer) 0
";
    assert_eq!(standard(&reply), expected);
    assert_eq!(
        String::from_utf8(raw(&reply)).expect("utf-8"),
        "get summary Get the value of a key\nsince 1.0.0\ngroup string\ncomplexity O(1)\n\
         arguments name key\ntype key\nkey_spec_index 0\n"
    );
}

/// `COMMAND INFO get` on RESP3: sets, maps and arrays nested four deep, a
/// two-digit index column, and a one-entry map kept on one line.
#[test]
fn deeply_nested_resp3() {
    let reply = parse(
        b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n",
    );
    let expected = "\
1)  1) \"get\"
    2) (integer) 2
    3) 1~ readonly
       2~ fast
    4) (integer) 1
    5) (integer) 1
    6) (integer) 1
    7) 1~ @read
       2~ @string
       3~ @fast
    8) (empty set)
    9) 1~ 1# \"flags\" => 
             1~ RO
             2~ access
          2# \"begin_search\" => 
             1# \"type\" => \"index\"
             2# \"spec\" => 1# \"index\" => (integer) 1
          3# \"find_keys\" => 
             1# \"type\" => \"range\"
             2# \"spec\" => 
                1# \"lastkey\" => (integer) 0
                2# \"keystep\" => (integer) 1
                3# \"limit\" => (integer) 0
   10) (empty set)
";
    assert_eq!(standard(&reply), expected);
    let expected_raw = "get\n2\nreadonly\nfast\n1\n1\n1\n@read\n@string\n@fast\n\nflags RO\naccess\n\
                        begin_search type index\nspec index 1\nfind_keys type range\nspec lastkey 0\n\
                        keystep 1\nlimit 0\n\n";
    assert_eq!(String::from_utf8(raw(&reply)).expect("utf-8"), expected_raw);
}
