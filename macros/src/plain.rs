//! `#[derive(Plain)]`: the `Plain` and `Equivalence` impls of a struct. The generated
//! code only lists the fields (type and offset) for rspar's hidden helper
//! (`rspar::__private`), which builds, caches and returns the MPI datatype.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Index};

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(data) => &data.fields,
        Data::Enum(data) => {
            return Err(Error::new(
                data.enum_token.span(),
                "#[derive(Plain)] supports structs only: an enum is not plain data (MPI \
                 could deliver a value that is no variant); send a number and convert it",
            ))
        }
        Data::Union(data) => {
            return Err(Error::new(
                data.union_token.span(),
                "#[derive(Plain)] supports structs only, not unions",
            ))
        }
    };
    if !input.generics.params.is_empty() {
        return Err(Error::new_spanned(
            &input.generics,
            "#[derive(Plain)] does not support generic structs (each struct's MPI datatype \
             is made once, for one layout): derive it on a struct with concrete field types",
        ));
    }
    if fields.is_empty() {
        return Err(Error::new_spanned(
            name,
            "#[derive(Plain)] needs a struct with at least one field",
        ));
    }
    let described = fields.iter().enumerate().map(|(i, field)| {
        let member: Box<dyn ToTokens> = match &field.ident {
            Some(ident) => Box::new(ident.clone()),
            None => Box::new(Index::from(i)),
        };
        let ty = &field.ty;
        // Spanned at the field's type: "`String` is not `Plain`" points at the field.
        quote_spanned! {ty.span()=>
            ::rspar::__private::Field::of::<#ty>(::core::mem::offset_of!(#name, #member))
        }
    });
    let name_text = name.to_string();
    Ok(quote! {
        // SAFETY: one value is one element of the struct's own datatype (below).
        #[allow(unsafe_code)]
        unsafe impl ::rspar::Plain for #name {
            type Element = #name;
            const PER_VALUE: usize = 1;
        }

        // SAFETY: the datatype describes every field (each `Plain`, so its elements are
        // its whole memory) at its offset, with the struct's size as extent.
        #[allow(unsafe_code)]
        unsafe impl ::rspar::mpi::traits::Equivalence for #name {
            type Out = ::rspar::mpi::datatype::DatatypeRef<'static>;
            fn equivalent_datatype() -> Self::Out {
                static DATATYPE: ::rspar::__private::Derived = ::rspar::__private::Derived::new();
                DATATYPE.get(#name_text, ::core::mem::size_of::<#name>(), || {
                    [#(#described),*]
                })
            }
        }
    })
}
