// The one schema shared by the extension host, the engine process and the webviews.
export * from './backend';
export * from './config';
export * from './run';
export * from './messages';
export * from './webview';
export * from './format';
export * from './preference-line';
export * from './preference-formats';
export * from './run-folder';
export * from './run-records-schema';
export * from './assert-never';
export * from './protocol-schema';
export * from './token-preview';
export * from './triage-rank';
export * from './eval-results';
export * from './loss-terms';
export * from './objectives';
