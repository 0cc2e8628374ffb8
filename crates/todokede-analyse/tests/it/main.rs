//! The analysis crate's integration tests, one test binary (`cargo test -p todokede-analyse
//! --test it`): each module measures or checks one part on real or vendored data.

mod evidence_evtx;
mod evidence_loghub;
mod ioc_finder_cases;
mod model;
mod properties;
mod seed_cases;
