//! AWS Bedrock Runtime (Converse / ConverseStream): the AWS protocol pieces kt needs to
//! call it: SigV4 request signing (`sigv4`) and the binary event-stream framing of
//! ConverseStream answers (`eventstream`). See provider-apis-more.md §2.

pub mod eventstream;
pub mod sigv4;
