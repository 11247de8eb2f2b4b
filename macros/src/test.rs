//! `#[rspar::test(ranks = [..], timeout = S)]`: a multi-rank test. The user's function
//! stays as an inner fn; the outer `#[test]` (carrying the user's other attributes:
//! `#[should_panic]`, `#[ignore]`, docs) calls rspar's hidden runtime
//! (`rspar::__private::test::run`), which launches the test binary under the MPI
//! launcher once per rank count, or, inside such a job, runs the inner fn on this rank.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Error, Expr, ExprArray, Ident, ItemFn, Lit, LitInt, Token};

/// The test's default time limit per launch, in seconds.
const DEFAULT_TIMEOUT: u64 = 60;

/// The parsed `ranks = [..], timeout = S`.
pub(crate) struct Args {
    ranks: Vec<LitInt>,
    timeout: Option<LitInt>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut ranks: Option<Vec<LitInt>> = None;
        let mut timeout = None;
        let span = input.span();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            match key.to_string().as_str() {
                "ranks" => {
                    if ranks.is_some() {
                        return Err(Error::new(key.span(), "`ranks` is given twice"));
                    }
                    let list: ExprArray = input.parse()?;
                    if list.elems.is_empty() {
                        return Err(Error::new_spanned(
                            &list,
                            "`ranks` needs at least one rank count, such as `ranks = [1, 2, 3]`",
                        ));
                    }
                    let mut counts = Vec::new();
                    for elem in &list.elems {
                        counts.push(count(elem)?);
                    }
                    ranks = Some(counts);
                }
                "timeout" => {
                    if timeout.is_some() {
                        return Err(Error::new(key.span(), "`timeout` is given twice"));
                    }
                    let lit: LitInt = input.parse()?;
                    if lit.base10_parse::<u64>()? == 0 {
                        return Err(Error::new(
                            lit.span(),
                            "`timeout` is in whole seconds and must be at least 1",
                        ));
                    }
                    timeout = Some(lit);
                }
                other => {
                    return Err(Error::new(
                        key.span(),
                        format!(
                            "unknown key `{other}`: #[rspar::test] takes `ranks = [..]` and \
                             `timeout = SECONDS`"
                        ),
                    ))
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        let ranks = ranks.ok_or_else(|| {
            Error::new(
                span,
                "#[rspar::test] needs the rank counts to run at: `ranks = [1, 2, 3]`",
            )
        })?;
        Ok(Args { ranks, timeout })
    }
}

/// One rank count: an integer literal of at least 1.
fn count(elem: &Expr) -> syn::Result<LitInt> {
    let Expr::Lit(lit) = elem else {
        return Err(Error::new_spanned(
            elem,
            "a rank count must be an integer literal",
        ));
    };
    let Lit::Int(int) = &lit.lit else {
        return Err(Error::new_spanned(
            elem,
            "a rank count must be an integer literal",
        ));
    };
    if int.base10_parse::<usize>()? == 0 {
        return Err(Error::new(int.span(), "a job needs at least 1 rank, not 0"));
    }
    Ok(LitInt::new(int.base10_digits(), int.span()))
}

pub(crate) fn expand(args: Args, item: ItemFn) -> syn::Result<TokenStream> {
    let sig = &item.sig;
    if let Some(token) = &sig.asyncness {
        return Err(Error::new(
            token.span(),
            "#[rspar::test] functions cannot be async",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(Error::new_spanned(
            &sig.generics,
            "#[rspar::test] functions cannot be generic",
        ));
    }
    if sig.inputs.len() != 1 {
        return Err(Error::new(
            if sig.inputs.is_empty() {
                sig.paren_token.span.join()
            } else {
                sig.inputs.span()
            },
            "#[rspar::test] functions take the world communicator: \
             `fn name(world: &rspar::Communicator)`",
        ));
    }
    let name = &sig.ident;
    let vis = &item.vis;
    let (outer_attrs, inner_attrs): (Vec<_>, Vec<_>) = item
        .attrs
        .iter()
        .cloned()
        .partition(|a| !a.path().is_ident("allow") && !a.path().is_ident("expect"));
    let ranks = &args.ranks;
    let timeout = args
        .timeout
        .unwrap_or_else(|| LitInt::new(&DEFAULT_TIMEOUT.to_string(), Span::call_site()));
    let mut inner = item.clone();
    inner.attrs = inner_attrs;
    inner.vis = syn::Visibility::Inherited;
    let call = quote_spanned! {sig.output.span()=>
        ::rspar::__private::test::Outcome::outcome(#name(world))
    };
    Ok(quote! {
        #(#outer_attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() {
            #inner
            ::rspar::__private::test::run(
                ::core::module_path!(),
                ::core::stringify!(#name),
                &[#(#ranks),*],
                ::core::time::Duration::from_secs(#timeout),
                |world| #call,
            )
        }
    })
}
