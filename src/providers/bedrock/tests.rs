//! Unit tests for the Bedrock Converse translation functions (provider-apis-more.md §2).
