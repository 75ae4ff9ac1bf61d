//! FilterCriteria: EventBridge-style patterns that decide which records a trigger delivers.
