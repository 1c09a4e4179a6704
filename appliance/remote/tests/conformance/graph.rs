//! The Microsoft Graph harnesses, OneDrive and SharePoint (being written).
