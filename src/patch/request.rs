//! `--set KEY=VALUE`: what the user asked to change.

use crate::model::SettingValue;

/// `KEY=VALUE` from the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub key: String,
    pub value: SettingValue,
}

/// Why a `--set` argument is not a request.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error("expected KEY=VALUE (n_jobs=null), got '{0}'")]
    NoEquals(String),
    #[error("no key before '=' in '{0}'")]
    NoKey(String),
    #[error("{0} does not fit a 64-bit integer (a C long), which every integer setting must")]
    IntegerTooLarge(String),
    #[error(
        "'{0}' is not a value: use null, true, false, a number, or a quoted string ('\"cpu\"')"
    )]
    NotAValue(String),
}

impl std::str::FromStr for Request {
    type Err = RequestError;

    fn from_str(s: &str) -> Result<Self, RequestError> {
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| RequestError::NoEquals(s.to_string()))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(RequestError::NoKey(s.to_string()));
        }
        Ok(Request {
            key: key.to_string(),
            value: parse_value(value.trim())?,
        })
    }
}

/// `null`/`None`, `true`/`false`/`True`/`False`, an integer, a float, or a quoted string.
pub fn parse_value(text: &str) -> Result<SettingValue, RequestError> {
    Ok(match text {
        "null" | "None" | "none" => SettingValue::None,
        "true" | "True" => SettingValue::Bool(true),
        "false" | "False" => SettingValue::Bool(false),
        _ if text.len() >= 2
            && ((text.starts_with('"') && text.ends_with('"'))
                || (text.starts_with('\'') && text.ends_with('\''))) =>
        {
            SettingValue::Str(text[1..text.len() - 1].to_string())
        }
        _ => {
            let integer = text.strip_prefix(['-', '+']).unwrap_or(text);
            if !integer.is_empty() && integer.bytes().all(|b| b.is_ascii_digit()) {
                SettingValue::Int(
                    text.parse::<i64>()
                        .map_err(|_| RequestError::IntegerTooLarge(text.to_string()))?,
                )
            } else if let Ok(f) = text.parse::<f64>() {
                SettingValue::Float(f)
            } else {
                return Err(RequestError::NotAValue(text.to_string()));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_the_command_line() {
        assert_eq!(parse_value("null").unwrap(), SettingValue::None);
        assert_eq!(parse_value("False").unwrap(), SettingValue::Bool(false));
        assert_eq!(parse_value("-1").unwrap(), SettingValue::Int(-1));
        assert_eq!(parse_value("0.5").unwrap(), SettingValue::Float(0.5));
        assert_eq!(
            parse_value("'cpu'").unwrap(),
            SettingValue::Str("cpu".into())
        );
        assert_eq!(
            parse_value("\"cpu\"").unwrap(),
            SettingValue::Str("cpu".into())
        );
        assert!(parse_value("cpu").is_err());
        let r: Request = "preprocessor__n_jobs=null".parse().unwrap();
        assert_eq!(r.key, "preprocessor__n_jobs");
        assert!("n_jobs".parse::<Request>().is_err());
    }
}
