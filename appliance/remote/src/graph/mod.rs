//! Microsoft Graph: OneDrive and SharePoint (being written).
