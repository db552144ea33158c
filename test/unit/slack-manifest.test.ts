import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REAUTH_COMMAND } from '../../lambdas/shared/slack/request';
import { SLACK_INTERACTIONS_PATH } from '../../lib/slack-endpoint';

const manifest = JSON.parse(readFileSync(new URL('../../slack/manifest.json', import.meta.url), 'utf8'));

describe('the Slack app manifest', () => {
  it('sends interactions and /reauth to the endpoint, which answers both', () => {
    expect(new URL(manifest.settings.interactivity.request_url).pathname).toBe(SLACK_INTERACTIONS_PATH);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.features.slash_commands).toEqual([
      expect.objectContaining({ command: REAUTH_COMMAND, url: manifest.settings.interactivity.request_url }),
    ]);
  });

  it('asks for the scopes reauth uses, and no others', () => {
    // chat.postMessage/update, also to a user id, which posts in the app's DM with them (chat:write; no
    // conversations.open, so no im:write), to a public fallback channel the bot was not invited to
    // (chat:write.public), users.lookupByEmail and users.info (users:read, users:read.email), the slash
    // command (commands).
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(
      ['chat:write', 'chat:write.public', 'commands', 'users:read', 'users:read.email'].sort(),
    );
    expect(manifest.oauth_config.scopes.user).toBeUndefined();
  });

  it('needs no conversation opened: nothing in the Slack client calls conversations.*', () => {
    const client = readFileSync(
      new URL('../../lambdas/shared/adapters/slack-client.ts', import.meta.url),
      'utf8',
    );

    expect(client).not.toMatch(/conversations\./);
    expect(client).toContain("callApi('chat.postMessage'");
  });
});
