//! An abi_stable library that claims connect-api's module version but exports a root module of another
//! layout, as a plugin built against a different connect-api would: the worker must refuse it with a clear
//! message and go on loading the others.
#![allow(non_local_definitions, non_camel_case_types)]

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::RString;
use abi_stable::{
    declare_root_module_statics, export_root_module, package_version_strings, prefix_type::PrefixTypeTrait, StableAbi,
};

/// A root module with a different shape than connect-api's `PluginModule`.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModule_Ref)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// Not what the worker expects.
    #[sabi(last_prefix_field)]
    pub describe: extern "C" fn(u64) -> RString,
}

impl RootModule for PluginModule_Ref {
    declare_root_module_statics! {PluginModule_Ref}
    const BASE_NAME: &'static str = "connect_plugin";
    const NAME: &'static str = "connect-rs plugin";
    // The workspace version, which connect-api has too, so the layout check is what refuses the file.
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

extern "C" fn describe(n: u64) -> RString {
    RString::from(format!("mismatch {n}"))
}

#[export_root_module]
fn module() -> PluginModule_Ref {
    PluginModule { describe }.leak_into_prefix()
}
