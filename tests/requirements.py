"""The requirements tests prove, by id: ``@pytest.mark.requirement("ASVS-V10.4.5", ...)``.

An id a test names must be here (``conftest`` refuses an unknown one), and ``pytest --requirement ID``
runs the tests of one requirement. The titles are short; the ids are what the sources call them.
"""

REQUIREMENTS = {
    "ASVS-V3.3.1": "ASVS 5.0 V3.3.1: cookies have the Secure attribute (and a __Secure- or __Host- name)",
    "ASVS-V3.3.2": "ASVS 5.0 V3.3.2: each cookie's SameSite attribute is set according to its purpose",
    "ASVS-V3.3.3": "ASVS 5.0 V3.3.3: cookies have the __Host- prefix unless designed to be shared with other hosts",
    "ASVS-V3.3.4": "ASVS 5.0 V3.3.4: cookies script must not read are HttpOnly, their value sent only by Set-Cookie",
    "ASVS-V3.5.1": "ASVS 5.0 V3.5.1: cross-origin requests to sensitive functions are proven to come from the app",
    "ASVS-V6.3.1": "ASVS 5.0 V6.3.1: controls against credential stuffing and password brute force",
    "ASVS-V6.3.8": "ASVS 5.0 V6.3.8: valid users cannot be deduced from failed authentication",
    "ASVS-V7.2.1": "ASVS 5.0 V7.2.1: session tokens are verified by the backend; ids it never issued are not honoured",
    "ASVS-V7.2.3": "ASVS 5.0 V7.2.3: session reference tokens are unique, from a CSPRNG, of 128 bits or more",
    "ASVS-V7.2.4": "ASVS 5.0 V7.2.4: a new session token on (re-)authentication, and the old one ends",
    "ASVS-V7.4.1": "ASVS 5.0 V7.4.1: a terminated session cannot be used again",
    "ASVS-V7.4.2": "ASVS 5.0 V7.4.2: disabling or deleting an account ends its sessions",
    "ASVS-V7.4.3": "ASVS 5.0 V7.4.3: a password change can end the account's other sessions",
    "ASVS-V7.4.5": "ASVS 5.0 V7.4.5: administrators can end a user's sessions",
    "CVE-2024-22513": "simplejwt CVE-2024-22513: an inactive user's tokens kept working",
    "ASVS-V10.4.5": "ASVS 5.0 V10.4.5: refresh tokens are rotated or sender-constrained; replay is detected",
    "ASVS-V10.4.8": "ASVS 5.0 V10.4.8: refresh tokens have an absolute expiration",
    "ASVS-V10.4.9": "ASVS 5.0 V10.4.9: a user can revoke refresh tokens",
    "ASVS-V14.2.1": "ASVS 5.0 V14.2.1: no session token or other secret in the URL or query string",
    "ASVS-V14.3.1": "ASVS 5.0 V14.3.1: authenticated data is cleared from client storage when the session ends",
    "RFC9700-4.14.2": "RFC 9700 §4.14.2: refresh token rotation; re-use revokes the active token",
    "CWE-384": "CWE-384: session fixation",
    "CVE-2015-5143": "Django CVE-2015-5143: requests with new session keys filled the session store",
    "CVE-2015-5963": "Django CVE-2015-5963: logout and other views stored empty sessions for anonymous visitors",
    "DA-PRIVILEGE-CHANGE": "dualauth: a change to a user's privileges ends the sign-ins started before it",
    "DA-REFRESH-COOKIE-SCOPE": "dualauth: the refresh cookie reaches dualauth's URLs only; refresh and logout read it",
}
