//! The model's own chat format, recognised from `tokenizer.chat_template`.
//!
//! GGUF files carry the chat template as Jinja source. Rather than embed a Jinja engine,
//! we recognise the formats of the families we support and produce exactly what their
//! templates produce, including the default system turn a template inserts when the
//! conversation has none (SmolLM2: "You are a helpful AI assistant named SmolLM...",
//! Qwen2.5: "You are Qwen, created by Alibaba Cloud...").

use super::{ChatMessage, Role};

/// A chat format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatTemplate {
    /// `<|im_start|>{role}\n{content}<|im_end|>\n` turns (SmolLM2, Qwen2.5).
    ChatMl {
        /// The system turn the template adds when the first message is not a system
        /// message.
        default_system: Option<String>,
    },
    /// Llama 3: `<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>`.
    Llama3,
    /// No template we recognise: plain `Role: content` lines. Models follow it poorly;
    /// the load report says when it is in use.
    Plain,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The literal text of the system turn a ChatML template inserts by default: the string
/// literal that follows `<|im_start|>system` up to `<|im_end|>`, when it holds no
/// template expression.
fn default_system_prompt(template: &str) -> Option<String> {
    let marker = "<|im_start|>system";
    let mut search = template;
    while let Some(at) = search.find(marker) {
        let after = &search[at + marker.len()..];
        let Some(end) = after.find("<|im_end|>") else {
            break;
        };
        let body = &after[..end];
        // Jinja source may spell the newline as an escape.
        let body = body.strip_prefix("\\n").or_else(|| body.strip_prefix('\n'));
        if let Some(body) = body {
            if !body.is_empty() && !body.contains(['\'', '"', '{', '}', '+']) {
                return Some(body.replace("\\n", "\n"));
            }
        }
        search = after;
    }
    None
}

impl ChatTemplate {
    /// Recognises the format of a `tokenizer.chat_template` (None: no template in the file).
    pub fn from_source(source: Option<&str>) -> Self {
        match source {
            Some(t) if t.contains("<|im_start|>") => ChatTemplate::ChatMl {
                default_system: default_system_prompt(t),
            },
            Some(t) if t.contains("<|start_header_id|>") => ChatTemplate::Llama3,
            _ => ChatTemplate::Plain,
        }
    }

    /// Short name for the load report.
    pub fn name(&self) -> &'static str {
        match self {
            ChatTemplate::ChatMl { .. } => "chatml",
            ChatTemplate::Llama3 => "llama3",
            ChatTemplate::Plain => "plain (template not recognised)",
        }
    }

    /// The prompt for `messages`, ending where the assistant's answer begins.
    pub fn render(&self, messages: &[ChatMessage]) -> String {
        let mut out = String::new();
        match self {
            ChatTemplate::ChatMl { default_system } => {
                if let (Some(system), false) = (
                    default_system,
                    messages.first().is_some_and(|m| m.role == Role::System),
                ) {
                    out.push_str("<|im_start|>system\n");
                    out.push_str(system);
                    out.push_str("<|im_end|>\n");
                }
                for m in messages {
                    out.push_str("<|im_start|>");
                    out.push_str(role_name(m.role));
                    out.push('\n');
                    out.push_str(&m.content);
                    out.push_str("<|im_end|>\n");
                }
                out.push_str("<|im_start|>assistant\n");
            }
            ChatTemplate::Llama3 => {
                out.push_str("<|begin_of_text|>");
                for m in messages {
                    out.push_str("<|start_header_id|>");
                    out.push_str(role_name(m.role));
                    out.push_str("<|end_header_id|>\n\n");
                    out.push_str(m.content.trim());
                    out.push_str("<|eot_id|>");
                }
                out.push_str("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
            ChatTemplate::Plain => {
                for m in messages {
                    let role = role_name(m.role);
                    let mut chars = role.chars();
                    if let Some(first) = chars.next() {
                        out.extend(first.to_uppercase());
                        out.push_str(chars.as_str());
                    }
                    out.push_str(": ");
                    out.push_str(&m.content);
                    out.push('\n');
                }
                out.push_str("Assistant:");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn chatml_inserts_the_templates_default_system_turn() {
        let t = ChatTemplate::from_source(Some(SMOLLM2));
        assert_eq!(
            t.render(&[ChatMessage::user("Hi")]),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn chatml_keeps_an_explicit_system_turn_only() {
        let t = ChatTemplate::from_source(Some(SMOLLM2));
        assert_eq!(
            t.render(&[ChatMessage::system("Be brief."), ChatMessage::user("Hi")]),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn escaped_newlines_in_jinja_source_are_unescaped() {
        let src = r"{%- else %}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}";
        assert_eq!(
            default_system_prompt(src).as_deref(),
            Some("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        );
    }
}
