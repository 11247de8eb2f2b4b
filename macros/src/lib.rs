//! rspar's procedural macros. Use them through rspar (`#[derive(rspar::Plain)]`), which
//! re-exports them and documents them; the code they generate names `::rspar`.
#![deny(missing_docs)]

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput, ItemFn};

mod plain;
mod test;

/// (The code this derive generates names `::rspar`: depend on rspar under that name.)
#[proc_macro_derive(Plain)]
pub fn derive_plain(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    plain::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// (Documented where rspar re-exports it: `rspar::test`. The code it generates names
/// `::rspar`.)
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(args as test::Args);
    let item = parse_macro_input!(item as ItemFn);
    test::expand(args, item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
