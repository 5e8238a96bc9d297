// A real OpenID Connect provider for the sign-in tests: the certified `oidc-provider` package
// (package.json pins it), one confidential client, three fixed accounts, the provider's own
// interaction flow with a login form that checks a password (login + "-pw").
//
//   OIDC_PORT=9000 OIDC_CLIENT_ID=comparator OIDC_CLIENT_SECRET=s3cret \
//   OIDC_REDIRECT_URIS=http://127.0.0.1:8501/oauth2callback node tests/oidc/provider.mjs
//
// Issuer http://127.0.0.1:$OIDC_PORT, listening on 127.0.0.1 only; prints "ready <issuer>".
// Claims email, email_verified, name and groups go into the ID token (conformIdTokenClaims:
// false), since Streamlit's st.user is read from the ID token that Authlib parses. Scopes:
// openid, email, profile, groups. Consent is granted without a page (a first-party client).
// The prompt "select_account" (which Streamlit sends by default) shows the login form again,
// so every st.login asks who is signing in. Logout (end_session, which st.logout redirects to)
// ends the provider session without a confirmation click.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`provider.mjs: set ${name} (see the comment at the top of this file)`);
    process.exit(2);
  }
  return value;
};

const port = Number(env('OIDC_PORT'));
const issuer = `http://127.0.0.1:${port}`;
const redirectUris = env('OIDC_REDIRECT_URIS').split(',').map((u) => u.trim()).filter(Boolean);

const ACCOUNTS = {
  alice: { email: 'alice@example.test', name: 'Alice Admin', groups: ['comparator-admins'] },
  bob: { email: 'bob@example.test', name: 'Bob Rater', groups: [] },
  carol: { email: 'carol@example.test', name: 'Carol Team', groups: ['team'] },
};
const passwordOf = (login) => `${login}-pw`;

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head>`
    + `<body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

function loginForm(uid, { login = '', error = '' } = {}) {
  return page('Sign in to the test provider', `
    ${error ? `<p role="alert" id="error">${esc(error)}</p>` : ''}
    <form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
      <label>Login <input name="login" value="${esc(login)}" required autofocus></label>
      <label>Password <input name="password" type="password" required></label>
      <button type="submit">Sign in</button>
    </form>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const policy = interactionPolicy.base();
policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }));

const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  .export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('OIDC_CLIENT_ID'),
    client_secret: env('OIDC_CLIENT_SECRET'),
    redirect_uris: redirectUris,
    post_logout_redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  jwks: { keys: [{ ...signingKey, use: 'sig', alg: 'RS256', kid: 'test-key' }] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: account.email, email_verified: true, name: account.name,
          groups: account.groups };
      },
    };
  },
  // a first-party client: what it asks for is granted, no consent page
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    const grant = (grantId && await ctx.oidc.provider.Grant.find(grantId))
      || new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
    await grant.save();
    return grant;
  },
  interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // no "are you sure" click: the form the provider renders is submitted at once
      async logoutSource(ctx, form) {
        ctx.body = page('Signing out', `${form.replace('</form>',
          '<input type="hidden" name="logout" value="yes"><button type="submit">Sign out</button></form>')}
          <script>document.forms[0].submit()</script>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You are signed out of the test provider.</p>');
      },
    },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Provider error', `<pre>${esc(JSON.stringify(out, null, 2))}</pre>`);
  },
});

// the interaction (login) pages, inside the provider's own interaction flow
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(ctx.path);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== match[1]) ctx.throw(400, 'interaction mismatch');
  ctx.type = 'html';
  if (!match[2] && ctx.method === 'GET') {
    if (['login', 'select_account'].includes(details.prompt.name)) {
      ctx.body = loginForm(details.uid, { login: details.params.login_hint || '' });
      return undefined;
    }
    // any other prompt (consent for scopes beyond the grant): granted, as for a first party
    const grant = details.grantId ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId,
        clientId: details.params.client_id });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } },
      { mergeWithLastSubmission: true }));
    return undefined;
  }
  if (match[2] && ctx.method === 'POST') {
    const form = await readForm(ctx.req);
    const login = (form.get('login') || '').trim();
    if (!Object.hasOwn(ACCOUNTS, login) || form.get('password') !== passwordOf(login)) {
      console.log(`login refused: ${JSON.stringify(login)}`);
      ctx.status = 401;
      ctx.body = loginForm(details.uid, { login, error: 'Invalid login or password.' });
      return undefined;
    }
    console.log(`login: ${login}`);
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res,
      { login: { accountId: login }, select_account: {} }, { mergeWithLastSubmission: false }));
    return undefined;
  }
  return ctx.throw(405);
});

// the log (Provider.log on the Python side): sign-ins, refusals, sign-outs, errors
provider.on('end_session.success', (ctx) => console.log(`signed out: ${ctx.oidc.session?.accountId}`));
provider.on('server_error', (ctx, err) => console.error('server error', err));

createServer(provider.callback()).listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
