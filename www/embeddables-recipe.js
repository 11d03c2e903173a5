// Embeddables' own "Sending User Data to Customer.io" custom-code action
// (docs.embeddables.com, Customer.io integration), unchanged but for the
// URL it posts to: formrelay's mount plus /v1/track instead of the
// third-party proxy in front of cdp.customer.io.  formrelay takes the
// Pipelines call as it is, keeps the API key on the server, and never
// stores, logs or forwards the Authorization placeholder below.
async function output(userData, context) {
  // @TODO: Replace with your actual company name,
  // and provide the API key to Embeddables to store securely on the backend
  const API_KEY_IDENTIFIER = "{{YOUR_COMPANY_NAME---customerio---api_key}}";

  // Construct the customer data object
  const customerData = {
    type: "identify",
    userId: userData.entryId, // Using entryid as the identifier
    traits: {
      email: userData.email,
      name: userData.name,
      first_name: userData.first_name,
      last_name: userData.last_name,
      // Add any other user attributes you want to track
    },
    context: {
      // Optional: Add context about the source of the data
      // For example, you could add the page URL or referrer
      page: {
        url: window.location.href,
        title: document.title,
        referrer: document.referrer
      },
      userAgent: navigator.userAgent,
      channel: "browser",
    }
  };

  // Construct the fetch options
  const requestOptions = {
    method: "POST",
    headers: {
      "Authorization": API_KEY_IDENTIFIER,
      "Content-Type": "application/json",
    },
    body: JSON.stringify(customerData),
  };

  // Customer.io Pipelines API endpoint (US region)
  const url = "https://cdp.customer.io/v1/track";

  try {
    // Send POST request, using the Embeddables backend proxy to keep the API key secure
    const response = await fetch(
      "/formrelay/v1/track", // your formrelay, e.g. https://forms.example.com/formrelay/v1/track
      requestOptions
    );

    if (!response.ok) {
      throw new Error(`HTTP error! status: ${response.status}`);
    }
  } catch (error) {
    console.error("Error identifying/updating user in Customer.io:", error);
    throw error;
  }
}
