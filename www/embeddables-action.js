// An Embeddables custom-code action that hands the flow's User Data to
// formrelay instead of calling Customer.io from the browser: no key here.
// Custom code receives (userData, helperFunctions, triggerContext);
// formrelay unwraps {"userData": …, "context": …} and keys the profile by
// userData.entryId.  Replace the URL with your formrelay mount point.
function output(userData, helperFunctions, triggerContext) {
  fetch("https://forms.example.com/formrelay", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept": "application/json" },
    body: JSON.stringify({
      userData: userData,
      context: { pageUrl: window.location.href, pageTitle: document.title },
    }),
    keepalive: true, // survives the page navigating away
  });
}
