import { Readable } from 'node:stream';
import { IAMClient } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { contentAsCdata } from '../../lambdas/shared/adapters/credential-report-body';
import { readCredentialReport } from '../../lambdas/shared/adapters/iam-inventory';

const NOW = new Date('2026-12-06T12:00:00Z');
const CSV = [
  'user,arn,user_creation_time,access_key_1_active,access_key_1_last_rotated',
  '<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,false,N/A',
  '"deploy,ci",arn:aws:iam::111122223333:user/deploy-ci,2024-01-01T00:00:00+00:00,true,2024-02-01T00:00:00+00:00',
].join('\n');

/** GetCredentialReport's answer as IAM's Query API writes it (the documented response shape). */
function reportXml(content: string): string {
  return (
    '<GetCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' +
    `<GetCredentialReportResult><Content>${content}</Content><ReportFormat>text/csv</ReportFormat>` +
    '<GeneratedTime>2026-12-06T11:30:00Z</GeneratedTime></GetCredentialReportResult>' +
    '<ResponseMetadata><RequestId>0e3b7a4c-1f6d-4b55-9a5e-6a7c2d9e8f10</RequestId></ResponseMetadata>' +
    '</GetCredentialReportResponse>'
  );
}

/** The real IAM client, its HTTP answered with `xml` in chunks of `chunk` bytes, as a socket delivers it. */
function iamAnswering(xml: string, chunk: number): IAMClient {
  const bytes = Buffer.from(xml);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunk) chunks.push(bytes.subarray(at, at + chunk));
  return new IAMClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' },
    requestHandler: {
      handle: async () => ({
        response: { statusCode: 200, headers: { 'content-type': 'text/xml' }, body: Readable.from(chunks) },
      }),
    },
  });
}

describe('contentAsCdata', () => {
  it('puts the text of Content in a CDATA section and leaves the rest as it was', () => {
    const xml = reportXml('dXNlcg==');

    expect(contentAsCdata(xml)).toBe(xml.replace('dXNlcg==', '<![CDATA[dXNlcg==]]>'));
  });

  it('leaves an answer without Content, or whose Content is not base64 text, unchanged', () => {
    const withoutContent =
      '<GetCredentialReportResponse><GetCredentialReportResult/></GetCredentialReportResponse>';
    const notBase64 = reportXml('<![CDATA[dXNlcg==]]>');

    expect(contentAsCdata(withoutContent)).toBe(withoutContent);
    expect(contentAsCdata(notBase64)).toBe(notBase64);
  });
});

describe('readCredentialReport through the AWS SDK', () => {
  it('reads the report IAM sent, whatever chunks the body arrives in', async () => {
    const xml = reportXml(Buffer.from(CSV).toString('base64'));

    for (const chunk of [7, 64, xml.length]) {
      const report = await readCredentialReport(iamAnswering(xml, chunk), { now: NOW, maxAgeMinutes: 60 });

      expect(report.generatedAt).toEqual(new Date('2026-12-06T11:30:00Z'));
      expect(report.rows).toEqual([
        {
          user: 'deploy,ci',
          arn: 'arn:aws:iam::111122223333:user/deploy-ci',
          user_creation_time: '2024-01-01T00:00:00+00:00',
          access_key_1_active: 'true',
          access_key_1_last_rotated: '2024-02-01T00:00:00+00:00',
        },
      ]);
    }
  });
});
