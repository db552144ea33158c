// Placeholder so the CDK app can synthesize the organization fan-out; the runtime part replaces it.
export const handler = async (): Promise<never> => {
  throw new Error('not implemented yet');
};
