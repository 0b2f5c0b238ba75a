/**
 * The live status pages both services serve at {@code /ui/}: {@link io.edgegate.ui.StatusPage}
 * serves a page's files (read once from the class path, kept in memory) under a strict
 * Content-Security-Policy; this package's resources are what both pages share: {@code shell.html}
 * (the page around each service's parts: head, bar, sign-in form), {@code common.js} (sign-in with
 * the token kept in the tab's session storage, the API client with {@code X-Consul-Token}, the live
 * watch by blocking query, building the page as text only), {@code common.css} and
 * {@code icon.svg}. The pages' own parts ({@code page.html}) and scripts are plain HTML and
 * JavaScript modules in each service's resources ({@code io/edgegate/gateway/ui/},
 * {@code io/edgegate/cloud/ui/}); nothing is built by a JavaScript tool chain and nothing is loaded
 * from elsewhere.
 */
package io.edgegate.ui;
