// Swagger UI on this Worker's /openapi.json; the token the operations page saved is pre-filled.
"use strict";
const TOKEN_KEY = "bv-token";

const ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: true,
  validatorUrl: null, // the default badge would call an outside validator
  onComplete: () => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) ui.preauthorizeApiKey("aceToken", token);
  },
});
