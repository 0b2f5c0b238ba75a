/**
 * The live status pages both services serve at {@code /ui/}: {@link io.edgegate.ui.StatusPage}
 * serves a page's files (read once from the class path, kept in memory) under a strict
 * Content-Security-Policy; this package's resources are what both pages share: {@code common.js}
 * (sign-in with the token kept in the tab's session storage, the API client with
 * {@code X-Consul-Token}, building the page as text only), {@code common.css} and {@code icon.svg}.
 * The pages themselves are plain HTML and JavaScript modules in each service's resources
 * ({@code io/edgegate/gateway/ui/}, {@code io/edgegate/cloud/ui/}); nothing is built by a JavaScript
 * tool chain and nothing is loaded from elsewhere.
 */
package io.edgegate.ui;
