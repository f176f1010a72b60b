//! The JNI contract, checked from both ends: the `native` declarations of
//! `dev.freshcreds.NativeAgent` (parsed from `NativeAgent.java`: name, `static`,
//! parameter and return types resolved through the file's package and imports, turned into JNI
//! signatures) must be exactly the methods of the Rust table `NATIVE_METHODS` — whose signatures
//! are derived from the types of the exported functions. A method missing on either side, an
//! extra one, a changed parameter or return type, or a lost `static` fails the test. The Java
//! block of DEVELOPERS.md "The JNI contract" is held to the same table.
//!
//! The checks take the Java file's path, so the mutation tests below run them on edited copies;
//! `FRESHCREDS_NATIVE_AGENT_JAVA=/path/to/NativeAgent.java` points the main test at another file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use freshcreds_jni::contract::{JAVA_CLASS, SYMBOL_PREFIX};
use freshcreds_jni::natives::NATIVE_METHODS;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The real `NativeAgent.java`.
fn native_agent_java() -> PathBuf {
    Path::new(ROOT).join("java/src/main/java/dev/freshcreds/NativeAgent.java")
}

// ------------------------------------------------------------------------------------ the tests

#[test]
fn native_agent_java_and_the_rust_exports_agree() {
    let path = std::env::var_os("FRESHCREDS_NATIVE_AGENT_JAVA").map_or_else(native_agent_java, PathBuf::from);
    let problems = check_java_file(&path);
    assert!(problems.is_empty(), "{} and freshcreds-jni disagree:\n  {}", path.display(), problems.join("\n  "));
}

#[test]
fn the_documented_contract_is_the_table() -> Result<(), String> {
    let guide = read(&Path::new(ROOT).join("DEVELOPERS.md"))?;
    let section = guide.split("## The JNI contract").nth(1).unwrap_or_default();
    let block = section.split("```java").nth(1).and_then(|b| b.split("```").next()).unwrap_or_default();
    // The block has no package or imports of its own: it is read in NativeAgent.java's context.
    let context = JavaFile::parse(&read(&native_agent_java())?).map(|f| f.context).unwrap_or_default();
    let problems = match JavaFile::parse_members(block, context) {
        Ok(declared) => compare(&declared, "DEVELOPERS.md"),
        Err(e) => vec![e],
    };
    assert!(problems.is_empty(), "DEVELOPERS.md \"The JNI contract\" and freshcreds-jni disagree:\n  {}", problems.join("\n  "));
    Ok(())
}

#[test]
fn the_table_is_well_formed() {
    let mut names = std::collections::BTreeSet::new();
    for method in NATIVE_METHODS {
        assert!(names.insert(method.name), "{} is defined twice", method.name);
        assert!(
            !method.name.is_empty() && method.name.chars().all(|c| c.is_ascii_alphanumeric()),
            "{}: a JNI short name needs escaping for anything but ASCII letters and digits",
            method.name
        );
        assert_eq!(method.symbol, format!("{SYMBOL_PREFIX}{}", method.name));
    }
    assert_eq!(SYMBOL_PREFIX, format!("Java_{}_", JAVA_CLASS.replace('.', "_")));
}

/// Every export of the crate comes from the one `native_agent!` macro, so the table lists them
/// all: no other `no_mangle` or `export_name` attribute, and no hand-written `Java_…` function.
#[test]
fn every_export_goes_through_the_table() -> Result<(), String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut exporting = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&src).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    entries.sort();
    for path in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "rs")) {
        // Comment lines may mention anything; code lines are counted.
        let text: String = read(path)?.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        for needle in ["no_mangle", "export_name", "fn Java_"] {
            exporting.extend(std::iter::repeat_n(format!("{}: {needle}", path.display()), text.matches(needle).count()));
        }
    }
    let expected = vec![format!("{}: export_name", src.join("contract.rs").display())];
    assert_eq!(exporting, expected, "only the native_agent! macro in contract.rs may export a symbol");
    Ok(())
}

/// The checks catch what they are for, on edited copies of the real file.
#[test]
fn the_check_catches_a_missing_extra_or_changed_method() -> Result<(), String> {
    let original = read(&native_agent_java())?;
    let dir = TempDir::new()?;
    let check = |name: &str, edit: &dyn Fn(&str) -> String| -> Vec<String> {
        let edited = edit(&original);
        assert_ne!(edited, original, "{name}: the edit applies to NativeAgent.java");
        let path = dir.0.join(format!("{name}.java"));
        match std::fs::write(&path, edited) {
            Ok(()) => check_java_file(&path),
            Err(e) => vec![format!("{}: {e}", path.display())],
        }
    };

    assert_eq!(check("unchanged", &|s| format!("{s}\n// unchanged\n")), Vec::<String>::new());

    let removed = check("removed", &|s| remove_declaration(s, "statsJson"));
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(removed[0].contains("statsJson") && removed[0].contains("extra"), "{removed:?}");

    let added = check("added", &|s| {
        s.replace(
            "    static native void close(long handle);",
            "    static native void close(long handle);\n    static native int pause(long handle, String why);",
        )
    });
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].contains("pause(JLjava/lang/String;)I") && added[0].contains("missing"), "{added:?}");

    let parameter =
        check("parameter", &|s| s.replace("invalidate(long handle, String accessKeyId)", "invalidate(long handle, byte[] accessKeyId)"));
    assert_eq!(parameter.len(), 1, "{parameter:?}");
    assert!(parameter[0].contains("invalidate") && parameter[0].contains("(J[B)V") && parameter[0].contains("(JLjava/lang/String;)V"));

    let returned = check("return", &|s| s.replace("static native long clockOffsetMillis", "static native int clockOffsetMillis"));
    assert!(returned.len() == 1 && returned[0].contains("(J)I") && returned[0].contains("(J)J"), "{returned:?}");

    let arity = check("arity", &|s| {
        s.replace("awaitSnapshot(long handle, long knownGeneration, long timeoutMillis)", "awaitSnapshot(long handle, long timeoutMillis)")
    });
    assert!(arity.len() == 1 && arity[0].contains("awaitSnapshot"), "{arity:?}");

    // A class resolved through an import: the snapshot class moved to another package.
    let class = check("class", &|s| s.replacen("\n\n", "\n\nimport dev.freshcreds.v2.CredentialsSnapshot;\n\n", 1));
    assert_eq!(class.len(), 3, "getCredentials, awaitSnapshot and refresh: {class:?}");
    assert!(class.iter().all(|p| p.contains("Ldev/freshcreds/v2/CredentialsSnapshot;")), "{class:?}");

    let instance = check("instance", &|s| s.replace("static native String sourceName", "native String sourceName"));
    assert!(instance.len() == 1 && instance[0].contains("sourceName") && instance[0].contains("static"), "{instance:?}");

    let renamed = check("renamed", &|s| s.replace("native String shadowedSources(", "native String shadowed_sources("));
    assert_eq!(renamed.len(), 2, "one missing, one extra: {renamed:?}");

    let overloaded = check("overloaded", &|s| {
        s.replace(
            "    static native void close(long handle);",
            "    static native void close(long handle);\n    public static native void close(int handle);",
        )
    });
    assert!(overloaded.iter().any(|p| p.contains("overloads native close")), "{overloaded:?}");

    // Comments, annotations, generics, `final` and varargs do not confuse the parser.
    let noise = check("noise", &|s| {
        s.replace(
            "static native void invalidate(long handle, String accessKeyId);",
            "/* static native void ghost(); */ @Deprecated public static native void invalidate(final long handle, @SuppressWarnings(\"x\") java.lang.String accessKeyId); // native void ghost2();",
        )
        .replace("create(String[] options)", "create(String... options)")
    });
    assert_eq!(noise, Vec::<String>::new());
    Ok(())
}

// ------------------------------------------------------------------------------- the comparison

/// What is wrong between the Java file at `path` and the Rust table; empty when they agree.
fn check_java_file(path: &Path) -> Vec<String> {
    let file = match read(path).and_then(|source| JavaFile::parse(&source)) {
        Ok(file) => file,
        Err(e) => return vec![format!("{}: {e}", path.display())],
    };
    let mut problems = Vec::new();
    let class = format!("{}.{}", file.context.package, file.class);
    if class != JAVA_CLASS {
        problems.push(format!("the file declares {class}, the library implements {JAVA_CLASS}"));
    }
    problems.extend(compare(&file.natives, "NativeAgent.java"));
    problems
}

/// The differences between the declared natives and `NATIVE_METHODS`.
fn compare(declared: &[Native], java_side: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut java: BTreeMap<&str, &Native> = BTreeMap::new();
    for native in declared {
        if java.insert(&native.name, native).is_some() {
            problems.push(format!(
                "{java_side} overloads native {}: the exports use JNI short names, which cannot tell overloads apart",
                native.name
            ));
        }
    }
    let rust: BTreeMap<&str, String> = NATIVE_METHODS.iter().map(|m| (m.name, (m.signature)())).collect();
    for (name, native) in &java {
        match rust.get(name) {
            None => problems.push(format!(
                "{java_side} declares native {name}{} but freshcreds-jni exports no {SYMBOL_PREFIX}{name} (missing on the Rust side)",
                native.signature
            )),
            Some(signature) if *signature != native.signature => {
                problems.push(format!("{name}: {java_side} declares {}, freshcreds-jni implements {signature}", native.signature))
            }
            Some(_) if !native.is_static => problems.push(format!(
                "{name}: {java_side} declares an instance method; freshcreds-jni implements a static one (its second argument is the class)"
            )),
            Some(_) => {}
        }
    }
    for (name, signature) in &rust {
        if !java.contains_key(name) {
            problems.push(format!("freshcreds-jni exports {SYMBOL_PREFIX}{name} {signature}, which {java_side} does not declare (extra)"));
        }
    }
    problems
}

// ---------------------------------------------------------------------------- the Java parser

/// A `native` method declaration.
#[derive(Debug)]
struct Native {
    name: String,
    is_static: bool,
    signature: String,
}

/// How simple class names resolve: the package, single-type imports, and `java.lang`.
#[derive(Debug, Default, Clone)]
struct Context {
    package: String,
    imports: BTreeMap<String, String>,
    wildcard_imports: bool,
}

struct JavaFile {
    context: Context,
    class: String,
    natives: Vec<Native>,
}

/// The `java.lang` classes a native method could plausibly use.
const JAVA_LANG: &[&str] = &[
    "Object",
    "String",
    "Class",
    "Throwable",
    "Exception",
    "RuntimeException",
    "Error",
    "CharSequence",
    "Boolean",
    "Byte",
    "Character",
    "Short",
    "Integer",
    "Long",
    "Float",
    "Double",
    "Number",
    "Void",
    "Thread",
    "ClassLoader",
    "StringBuilder",
    "Iterable",
    "Runnable",
];

impl JavaFile {
    fn parse(source: &str) -> Result<Self, String> {
        let tokens = tokenize(&strip_comments(source));
        let mut context = Context::default();
        let mut class = None;
        let mut i = 0;
        // The header: package and imports, up to the first type declaration.
        while i < tokens.len() && class.is_none() {
            match tokens[i].as_str() {
                "package" => {
                    let (name, next) = qualified_name(&tokens, i + 1);
                    context.package = name;
                    i = next;
                }
                "import" => {
                    let is_static = tokens.get(i + 1).is_some_and(|t| t == "static");
                    let (name, next) = qualified_name(&tokens, i + if is_static { 2 } else { 1 });
                    if !is_static {
                        if name.ends_with(".*") {
                            context.wildcard_imports = true;
                        } else if let Some((_, simple)) = name.rsplit_once('.') {
                            context.imports.insert(simple.to_string(), name.clone());
                        }
                    }
                    i = next;
                }
                "class" | "interface" | "enum" | "record" => class = tokens.get(i + 1).cloned(),
                _ => i += 1,
            }
        }
        let class = class.ok_or("no class declaration found")?;
        let body_start = tokens.iter().skip(i).position(|t| t == "{").map(|p| p + i + 1).ok_or("the class has no body")?;
        let natives = Self::members(&tokens[body_start..], &context)?;
        Ok(Self { context, class, natives })
    }

    /// The natives declared in `source`, a sequence of member declarations (DEVELOPERS.md's block).
    fn parse_members(source: &str, context: Context) -> Result<Vec<Native>, String> {
        Self::members(&tokenize(&strip_comments(source)), &context)
    }

    /// The natives among the member declarations at the top level of `tokens` (a class body).
    /// A `native` method has no body, so it is the tokens between two top-level `;`/`{`/`}`.
    fn members(tokens: &[String], context: &Context) -> Result<Vec<Native>, String> {
        let mut natives = Vec::new();
        let mut depth = 0usize;
        let mut start = 0;
        for (i, token) in tokens.iter().enumerate() {
            match token.as_str() {
                "{" => {
                    depth += 1;
                    start = i + 1;
                }
                "}" => {
                    depth = depth.saturating_sub(1);
                    start = i + 1;
                }
                ";" if depth == 0 => {
                    let declaration = &tokens[start..i];
                    start = i + 1;
                    if declaration.iter().any(|t| t == "native") {
                        natives.push(parse_native(declaration, context)?);
                    }
                }
                _ => {}
            }
        }
        Ok(natives)
    }
}

/// One declaration, e.g. `@Deprecated public static native long create ( String [ ] options )`.
fn parse_native(declaration: &[String], context: &Context) -> Result<Native, String> {
    let text = declaration.join(" ");
    let tokens = skip_annotations(declaration);
    let open = tokens.iter().position(|t| t == "(").ok_or_else(|| format!("no parameter list in `{text}`"))?;
    if tokens.last().is_none_or(|t| t != ")") {
        return Err(format!("`{text}` does not end with its parameter list (a `throws` clause?)"));
    }
    let (head, params) = (&tokens[..open], &tokens[open + 1..tokens.len() - 1]);
    let (name, head) = head.split_last().ok_or_else(|| format!("no method name in `{text}`"))?;
    const MODIFIERS: &[&str] = &["public", "protected", "private", "static", "native", "final", "synchronized", "strictfp", "abstract"];
    let is_static = head.iter().any(|t| t == "static");
    let return_type: Vec<String> = head.iter().filter(|t| !MODIFIERS.contains(&t.as_str())).cloned().collect();
    let mut descriptors = Vec::new();
    for param in split_params(params) {
        let param: Vec<String> = param.into_iter().filter(|t| t != "final").collect();
        let (last, ty) = param.split_last().ok_or_else(|| format!("an empty parameter in `{text}`"))?;
        // `String args[]`: the brackets after the name belong to the type.
        let (ty, trailing) = if last == "]" {
            let name_at = param.iter().rposition(|t| t != "[" && t != "]").unwrap_or(0);
            (param[..name_at].to_vec(), param[name_at + 1..].iter().filter(|t| *t == "[").count())
        } else {
            (ty.to_vec(), 0)
        };
        descriptors.push(format!("{}{}", "[".repeat(trailing), descriptor(&ty, context)?));
    }
    let signature = format!("({}){}", descriptors.concat(), descriptor(&return_type, context)?);
    Ok(Native { name: name.clone(), is_static, signature })
}

/// The JNI descriptor of a Java type written as tokens: `long`, `String [ ]`, `java . util . List < X >`, `byte ...`.
fn descriptor(ty: &[String], context: &Context) -> Result<String, String> {
    let mut base = Vec::new();
    let mut dims = 0;
    let mut generics = 0usize;
    for token in ty {
        match token.as_str() {
            "<" => generics += 1,
            ">" => generics = generics.saturating_sub(1),
            _ if generics > 0 => {}
            "[" | "..." => dims += 1,
            "]" => {}
            other => base.push(other.to_string()),
        }
    }
    let name = base.concat();
    let element = match name.as_str() {
        "void" => "V".to_string(),
        "boolean" => "Z".to_string(),
        "byte" => "B".to_string(),
        "char" => "C".to_string(),
        "short" => "S".to_string(),
        "int" => "I".to_string(),
        "long" => "J".to_string(),
        "float" => "F".to_string(),
        "double" => "D".to_string(),
        "" => return Err(format!("no type in `{}`", ty.join(" "))),
        qualified if qualified.contains('.') => format!("L{};", qualified.replace('.', "/")),
        simple => {
            let full = if let Some(full) = context.imports.get(simple) {
                full.clone()
            } else if JAVA_LANG.contains(&simple) {
                format!("java.lang.{simple}")
            } else if context.wildcard_imports {
                return Err(format!("cannot resolve {simple}: the file has wildcard imports"));
            } else if context.package.is_empty() {
                simple.to_string()
            } else {
                format!("{}.{simple}", context.package)
            };
            format!("L{};", full.replace('.', "/"))
        }
    };
    Ok(format!("{}{element}", "[".repeat(dims)))
}

/// Parameters split at top-level commas (not those inside `Map<K, V>`).
fn split_params(tokens: &[String]) -> Vec<Vec<String>> {
    let mut params = vec![Vec::new()];
    let mut generics = 0usize;
    for token in tokens {
        match token.as_str() {
            "<" => generics += 1,
            ">" => generics = generics.saturating_sub(1),
            "," if generics == 0 => {
                params.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = params.last_mut() {
            last.push(token.clone());
        }
    }
    params.retain(|p| !p.is_empty());
    params
}

/// The tokens without annotations (`@Name`, `@a.b.Name`, `@Name(...)`).
fn skip_annotations(tokens: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == "@" && tokens.get(i + 1).is_some_and(|t| t != "interface") {
            let (_, mut next) = qualified_name(tokens, i + 1);
            if tokens.get(next).is_some_and(|t| t == "(") {
                let mut depth = 0usize;
                while next < tokens.len() {
                    match tokens[next].as_str() {
                        "(" => depth += 1,
                        ")" => depth -= 1,
                        _ => {}
                    }
                    next += 1;
                    if depth == 0 {
                        break;
                    }
                }
            }
            i = next;
        } else {
            out.push(tokens[i].clone());
            i += 1;
        }
    }
    out
}

/// `a . b . C` (or `a . b . *`) from `start`: the dotted name and the index after it.
fn qualified_name(tokens: &[String], start: usize) -> (String, usize) {
    let mut name = String::new();
    let mut i = start;
    while let Some(token) = tokens.get(i) {
        let expect_part = name.is_empty() || name.ends_with('.');
        if expect_part && (token == "*" || token.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')) {
            name.push_str(token);
        } else if !expect_part && token == "." {
            name.push('.');
        } else {
            break;
        }
        i += 1;
    }
    (name, i)
}

/// Identifiers, keywords and numbers as whole tokens; `...`; every other character alone.
/// String and character literals become one placeholder token.
fn tokenize(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == '.' && chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') {
            tokens.push("...".to_string());
            i += 3;
        } else if c == '"' || c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            tokens.push("<literal>".to_string());
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    tokens
}

/// `source` without `//` and `/* */` comments (each replaced by a space); literals are kept.
fn strip_comments(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1)) {
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                out.push(' ');
            }
            ('/', Some('*')) => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
                out.push(' ');
            }
            (quote @ ('"' | '\''), _) => {
                out.push(quote);
                i += 1;
                while i < chars.len() && chars[i] != quote {
                    if chars[i] == '\\' {
                        out.push(chars[i]);
                        i += 1;
                    }
                    if let Some(&c) = chars.get(i) {
                        out.push(c);
                    }
                    i += 1;
                }
                if i < chars.len() {
                    out.push(quote);
                }
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

// ------------------------------------------------------------------------------------ helpers

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `source` without the declaration of `method` (and the comment above it stays: harmless).
fn remove_declaration(source: &str, method: &str) -> String {
    source.lines().filter(|l| !(l.contains(" native ") && l.contains(&format!(" {method}(")))).map(|l| format!("{l}\n")).collect()
}

/// A directory for the edited copies, removed at the end of the test.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, String> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let path = std::env::temp_dir().join(format!("freshcreds-native-contract-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
