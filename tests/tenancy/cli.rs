//! (cases added by the tenancy work)
