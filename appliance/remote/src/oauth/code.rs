//! The authorization code flow with PKCE for a box that cannot receive a redirect: the owner opens
//! the provider's page, approves, and pastes back either the code the provider shows (Dropbox's
//! no-redirect flow) or the whole URL the browser was sent to (whose `code` and `state` we read).

use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl};

use super::{token_client, token_error, url, OAuthSettings, Tokens};
use crate::error::RemoteError;
use crate::Secret;

pub struct CodeStart {
    /// The page the owner opens.
    pub authorize_url: String,
    pub flow: CodeFlow,
}

pub struct CodeFlow {
    settings: OAuthSettings,
    redirect: Option<String>,
    verifier: Secret,
    state: Secret,
    http: reqwest::Client,
}

impl CodeFlow {
    /// `redirect` is where the provider sends the browser afterwards, if the app registered one
    /// (Google's loopback `http://127.0.0.1`); None for providers that show the code (Dropbox).
    pub fn start(
        settings: &OAuthSettings,
        redirect: Option<&str>,
        http: reqwest::Client,
    ) -> Result<CodeStart, RemoteError> {
        let mut client = BasicClient::new(oauth2::ClientId::new(settings.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(url("authorization URL", &settings.auth_url)?));
        if let Some(redirect) = redirect {
            client = client.set_redirect_uri(RedirectUrl::from_url(url("redirect URL", redirect)?));
        }
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(settings.scopes.iter().cloned().map(oauth2::Scope::new))
            .set_pkce_challenge(challenge);
        for (name, value) in &settings.extra_auth_params {
            request = request.add_extra_param(name.clone(), value.clone());
        }
        let (authorize_url, state) = request.url();
        Ok(CodeStart {
            authorize_url: authorize_url.to_string(),
            flow: CodeFlow {
                settings: settings.clone(),
                redirect: redirect.map(str::to_string),
                verifier: Secret::new(verifier.secret().clone()),
                state: Secret::new(state.secret().clone()),
                http,
            },
        })
    }

    /// Exchanges what the owner pasted: a bare code, or the redirect URL carrying `code` and the
    /// `state` we sent (a different state is refused: the URL was not from this flow).
    pub async fn finish(self, pasted: &str) -> Result<Tokens, RemoteError> {
        let code = code_from_paste(pasted.trim(), self.state.expose())?;
        let mut client = token_client(&self.settings)?;
        if let Some(redirect) = &self.redirect {
            client = client.set_redirect_uri(RedirectUrl::from_url(url("redirect URL", redirect)?));
        }
        let response = client
            .exchange_code(oauth2::AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(self.verifier.expose().to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| token_error(self.settings.provider, e))?;
        Ok(Tokens::from_response(&response, None))
    }
}

fn code_from_paste(pasted: &str, state: &str) -> Result<String, RemoteError> {
    let bad = |why: &str| RemoteError::Config(format!("the pasted text: {why}"));
    if !pasted.contains("://") {
        if pasted.is_empty() || pasted.chars().any(char::is_whitespace) {
            return Err(bad("not a code"));
        }
        return Ok(pasted.to_string());
    }
    let url: oauth2::url::Url = pasted.parse().map_err(|_| bad("not a URL"))?;
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    if let Some(error) = param("error") {
        return Err(bad(&format!("the provider answered {error}")));
    }
    if param("state").as_deref() != Some(state) {
        return Err(bad("its state is not this sign-in's (an old or foreign link)"));
    }
    param("code").ok_or_else(|| bad("no code in the URL"))
}

#[cfg(test)]
mod tests {
    use super::code_from_paste;

    #[test]
    fn reads_a_code_or_a_redirect_url() {
        assert_eq!(code_from_paste("abc123", "s").unwrap(), "abc123");
        assert_eq!(code_from_paste("http://127.0.0.1/?code=4%2F0Ab&state=s&scope=x", "s").unwrap(), "4/0Ab");
        assert!(code_from_paste("http://127.0.0.1/?code=x&state=other", "s").is_err());
        assert!(code_from_paste("http://127.0.0.1/?error=access_denied&state=s", "s").is_err());
        assert!(code_from_paste("two words", "s").is_err());
    }
}
