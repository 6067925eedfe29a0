//! Throwaway servers for Parley's tests: PostgreSQL and Redis as Debian ships them,
//! each in a temporary directory on a free loopback port. Every server goes when the
//! test process ends, however it ends: a small shell, spawned with a parent-death
//! signal, stops it and deletes its directory; a directory left behind all the same is
//! deleted by the next run.

pub mod postgres;
mod process;
pub mod redis;

pub use postgres::{fresh_database, TestPostgres};
pub use redis::TestRedis;
