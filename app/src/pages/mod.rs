pub mod home;
pub mod icons;
pub mod not_found;
pub mod room;
