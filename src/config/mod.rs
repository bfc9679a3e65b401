//! The configuration: typed model, formats, layers with provenance, presets.

pub mod backups;
pub mod compat;
pub mod containers;
pub mod domains;
pub mod env;
pub use prose_compile_validators::formats;
pub mod host;
pub mod k8s_names;
pub mod keys;
pub mod limits;
pub mod load;
pub mod model;
pub mod parse;
pub mod presets;
pub mod prosody;
pub mod repository;
pub mod schema;
pub mod schema_nav;
pub mod schema_structure;
pub mod types;
pub mod validate;

pub use load::{
    COMPOSE_ENV_FILE, EnvUse, LoadError, LoadOptions, Loaded, SERVER_ENV_FILE, SIBLING_ENV_FILE,
    load, load_read,
};
pub use model::Config;
