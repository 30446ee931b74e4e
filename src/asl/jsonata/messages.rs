//! jsonata-js 2.0.6's error texts, which AWS reports. `jsonata-core` raises the same codes with its own
//! wording; this rewrites them: verbatim for texts without parameters, filled in for the common ones with
//! parameters, and the evaluation bounds (which AWS reports without a code) in AWS's words.

/// jsonata-js texts without parameters, by code.
const FIXED: [(&str, &str); 54] = [
    ("S0101", "String literal must be terminated by a matching quote"),
    ("S0104", "The escape sequence \\u must be followed by 4 hex digits"),
    ("S0105", "Quoted property name must be terminated with a backquote (`)"),
    ("S0106", "Comment has no closing tag"),
    ("S0207", "Unexpected end of expression"),
    ("S0209", "A predicate cannot follow a grouping expression in a step"),
    ("S0210", "Each step can only have one grouping expression"),
    ("S0212", "The left side of := must be a variable name (start with $)"),
    ("S0215", "A context variable binding must precede any predicates on a step"),
    ("S0216", "A context variable binding must precede the 'order-by' clause on a step"),
    ("S0217", "The object representing the 'parent' cannot be derived from this expression"),
    ("S0301", "Empty regular expressions are not allowed"),
    ("S0302", "No terminating / in regular expression"),
    ("S0402", "Choice groups containing parameterized types are not supported"),
    ("S0401", "Type parameters can only be applied to functions and arrays"),
    ("S0500", "Attempted to evaluate an expression containing syntax error(s)"),
    ("D1004", "Regular expression matches zero length string"),
    ("T1006", "Attempted to invoke a non-function"),
    ("T1008", "Attempted to partially apply a non-function"),
    ("D1010", "Attempted to access the Javascript object prototype"),
    ("T2003", "The left side of the range operator (..) must evaluate to an integer"),
    ("T2004", "The right side of the range operator (..) must evaluate to an integer"),
    ("D2005", "The left side of := must be a variable name (start with $)"),
    ("T2006", "The right side of the function application operator ~> must be a function"),
    ("T2008", "The expressions within an order-by clause must evaluate to numeric or string values"),
    ("T2013", "The transform expression clones the input object using the $clone() function.  This has been overridden in the current scope by a non-function."),
    ("D3001", "Attempting to invoke string function on Infinity or NaN"),
    ("D3010", "Second argument of replace function cannot be an empty string"),
    ("D3011", "Fourth argument of replace function must evaluate to a positive number"),
    ("D3012", "Attempted to replace a matched string with a non-string value"),
    ("D3020", "Third argument of split function must evaluate to a positive number"),
    ("D3040", "Third argument of match function must evaluate to a positive number"),
    ("D3050", "The second argument of reduce function must be a function with at least two arguments"),
    ("D3070", "The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function"),
    ("D3080", "The picture string must only contain a maximum of two sub-pictures"),
    ("D3081", "The sub-picture must not contain more than one instance of the 'decimal-separator' character"),
    ("D3082", "The sub-picture must not contain more than one instance of the 'percent' character"),
    ("D3083", "The sub-picture must not contain more than one instance of the 'per-mille' character"),
    ("D3084", "The sub-picture must not contain both a 'percent' and a 'per-mille' character"),
    ("D3085", "The mantissa part of a sub-picture must contain at least one character that is either an 'optional digit character' or a member of the 'decimal digit family'"),
    ("D3086", "The sub-picture must not contain a passive character that is preceded by an active character and that is followed by another active character"),
    ("D3087", "The sub-picture must not contain a 'grouping-separator' character that appears adjacent to a 'decimal-separator' character"),
    ("D3088", "The sub-picture must not contain a 'grouping-separator' at the end of the integer part"),
    ("D3089", "The sub-picture must not contain two adjacent instances of the 'grouping-separator' character"),
    ("D3090", "The integer part of the sub-picture must not contain a member of the 'decimal digit family' that is followed by an instance of the 'optional digit character'"),
    ("D3091", "The fractional part of the sub-picture must not contain an instance of the 'optional digit character' that is followed by a member of the 'decimal digit family'"),
    ("D3092", "A sub-picture that contains a 'percent' or 'per-mille' character must not contain a character treated as an 'exponent-separator'"),
    ("D3093", "The exponent part of the sub-picture must comprise only of one or more characters that are members of the 'decimal digit family'"),
    ("D3131", "In a decimal digit pattern, all digits must be from the same decimal group"),
    ("D3134", "The timezone integer format specifier cannot have more than four digits"),
    ("D3135", "No matching closing bracket ']' in date/time picture string"),
    ("D3136", "The date/time picture string is missing specifiers required to parse the timestamp"),
    ("D3138", "The $single() function expected exactly 1 matching result.  Instead it matched more."),
    ("D3139", "The $single() function expected exactly 1 matching result.  Instead it matched 0."),
];

/// jsonata-js's text for `code` when it has no parameters.
pub(crate) fn fixed(code: &str) -> Option<&'static str> {
    FIXED
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, text)| *text)
}

/// AWS's texts for the evaluation bounds; it reports them after a colon, without a code.
pub(crate) const MEMORY_LIMIT: &str =
    "Expression evaluation memory limit exceeded: Check for excessive memory usage";
const STACK_OVERFLOW: &str =
    "Stack overflow error: Check for non-terminating recursive function. Consider rewriting as tail-recursive";
const TIMEOUT: &str = "Expression evaluation timeout: Check for infinite loop";

/// A runtime error as AWS words it: `(Some(code), message)` for a coded error, `(None, message)` for a
/// bound. `calls` are the built-in functions the expression calls, innermost first, to name the function
/// in signature errors (jsonata-core leaves it out; with several candidates the first is a guess).
pub(crate) fn runtime(code: &str, message: &str, calls: &[String]) -> (Option<String>, String) {
    match code {
        "D2014" | "D2015" => return (None, MEMORY_LIMIT.to_string()),
        "U1001" | "D1011" => return (None, STACK_OVERFLOW.to_string()),
        "D1012" => return (None, TIMEOUT.to_string()),
        _ => {}
    }
    if let Some(text) = fixed(code) {
        return (Some(code.to_string()), text.to_string());
    }
    let text = match code {
        "T0410" | "T0411" | "T0412" => signature(code, message, calls),
        "T2001" | "T2002" => quote_operator(message),
        "D3030" => match between(message, "'", "'") {
            Some(value) => format!("Unable to cast value to a number: {}", json_string(value)),
            None => message.to_string(),
        },
        "D3100" => match message.rsplit(' ').next() {
            Some(value) => format!(
                "The radix of the formatBase function must be between 2 and 36.  It was given {value}"
            ),
            None => message.to_string(),
        },
        "D3130" => format!(
            "Formatting or parsing an integer as a sequence starting with {} is not supported by this implementation",
            json_string(message)
        ),
        _ => message.to_string(),
    };
    (Some(code.to_string()), text)
}

/// T0410 / T0411 / T0412 with the function's name and jsonata-js's wording.
fn signature(code: &str, message: &str, calls: &[String]) -> String {
    let index = argument_index(message);
    let function = named_function(message)
        .or_else(|| {
            let aggregate = ["sum", "max", "min", "average"];
            match code {
                "T0412" if message.ends_with("Number") => calls
                    .iter()
                    .find(|c| aggregate.contains(&c.as_str()))
                    .cloned(),
                _ => None,
            }
        })
        .or_else(|| calls.first().cloned())
        .unwrap_or_default();
    let function = json_string(&function);
    match code {
        "T0411" => format!(
            "Context value is not a compatible type with argument {index} of function {function}"
        ),
        "T0412" => {
            let of = message.rsplit(' ').next().unwrap_or("");
            format!(
                "Argument {index} of function {function} must be an array of {}",
                json_string(&array_type(of))
            )
        }
        _ => format!("Argument {index} of function {function} does not match function signature"),
    }
}

/// The argument position: "Argument 2 …", or for a count mismatch the first extra or missing one.
fn argument_index(message: &str) -> usize {
    if let Some(rest) = message.strip_prefix("Argument count mismatch: expected ") {
        let mut numbers = rest
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse::<usize>().ok());
        let expected = numbers.next().unwrap_or(0);
        let got = numbers.next().unwrap_or(0);
        return if got > expected {
            expected + 1
        } else {
            got + 1
        };
    }
    message
        .strip_prefix("Argument ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// "… of function substring does not …" / "… of function $join …".
fn named_function(message: &str) -> Option<String> {
    let rest = message.split(" of function ").nth(1)?;
    let name = rest.split(' ').next()?.trim_start_matches('$');
    (!name.is_empty() && name != "does" && name != "must" && name != "undefined")
        .then(|| name.to_string())
}

/// jsonata-js's plural type names in T0412.
fn array_type(name: &str) -> String {
    match name {
        "Number" => "numbers",
        "String" => "strings",
        "Boolean" => "booleans",
        "Object" => "objects",
        "Array" => "arrays",
        "Function" => "functions",
        other => return other.to_lowercase(),
    }
    .to_string()
}

/// "The left side of the + operator …" → "… of the \"+\" operator …".
fn quote_operator(message: &str) -> String {
    match between(message, "side of the ", " operator") {
        Some(token) => message.replacen(
            &format!("side of the {token} operator"),
            &format!("side of the {} operator", json_string(token)),
            1,
        ),
        None => message.to_string(),
    }
}

fn between<'m>(message: &'m str, open: &str, close: &str) -> Option<&'m str> {
    let start = message.find(open)? + open.len();
    let end = message[start..].find(close)? + start;
    Some(&message[start..end])
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}
