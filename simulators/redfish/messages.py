"""Redfish error bodies with messages of DMTF's Base message registry (Base.1.18.0)."""

from __future__ import annotations

from typing import Any

REGISTRY = "Base.1.18.0"

# MessageId -> (message template with %1.., severity, resolution)
BASE: dict[str, tuple[str, str, str]] = {
    "GeneralError": (
        "A general error has occurred.  See Resolution for information on how to resolve the error, "
        "or @Message.ExtendedInfo if Resolution is not provided.",
        "Critical",
        "None.",
    ),
    "Success": ("The request completed successfully.", "OK", "None."),
    "Created": ("The resource was created successfully.", "OK", "None."),
    "ResourceNotFound": (
        "The requested resource of type %1 named '%2' was not found.",
        "Critical",
        "Provide a valid resource identifier and resubmit the request.",
    ),
    "NoValidSession": (
        "There is no valid session established with the implementation.",
        "Critical",
        "Establish a session before attempting any operations.",
    ),
    "InsufficientPrivilege": (
        "There are insufficient privileges for the account or credentials associated with the current "
        "session to perform the requested operation.",
        "Critical",
        "Either abandon the operation or change the associated access rights and resubmit the request if "
        "the operation failed.",
    ),
    "ResourceAtUriUnauthorized": (
        "While accessing the resource at '%1', the service received an authorization error '%2'.",
        "Critical",
        "Ensure that the appropriate access is provided for the service in order for it to access the URI.",
    ),
    "OperationNotAllowed": (
        "The HTTP method is not allowed on this resource.",
        "Critical",
        "None.",
    ),
    "ActionNotSupported": (
        "The action %1 is not supported by the resource.",
        "Critical",
        "The action supplied cannot be resubmitted to the implementation.  Perhaps the action was invalid, "
        "the wrong resource was the target or the implementation documentation may be of assistance.",
    ),
    "ActionParameterMissing": (
        "The action %1 requires the parameter %2 to be present in the request body.",
        "Critical",
        "Supply the action with the required parameter in the request body when the request is resubmitted.",
    ),
    "ActionParameterValueNotInList": (
        "The value '%1' for the parameter %2 in the action %3 is not in the list of acceptable values.",
        "Warning",
        "Choose a value from the enumeration list that the implementation can support and resubmit the "
        "request if the operation failed.",
    ),
    "PropertyMissing": (
        "The property %1 is a required property and must be included in the request.",
        "Warning",
        "Ensure that the property is in the request body and has a valid value and resubmit the request if "
        "the operation failed.",
    ),
    "MalformedJSON": (
        "The request body submitted was malformed JSON and could not be parsed by the receiving service.",
        "Critical",
        "Ensure that the request body is valid JSON and resubmit the request.",
    ),
    "InternalError": (
        "The request failed due to an internal service error.  The service is still operational.",
        "Critical",
        "Resubmit the request.  If the problem persists, consider resetting the service.",
    ),
    "PreconditionFailed": (
        "The ETag supplied did not match the ETag required to change this resource.",
        "Critical",
        "Try the operation again using the appropriate ETag.",
    ),
}


def message(message_id: str, *args: Any) -> dict[str, Any]:
    template, severity, resolution = BASE[message_id]
    text = template
    for i, arg in enumerate(args, start=1):
        text = text.replace(f"%{i}", str(arg))
    return {
        "@odata.type": "#Message.v1_1_1.Message",
        "MessageId": f"{REGISTRY}.{message_id}",
        "Message": text,
        "MessageArgs": [str(a) for a in args],
        "MessageSeverity": severity,
        "Resolution": resolution,
    }


def error_body(message_id: str, *args: Any) -> dict[str, Any]:
    """``{"error": {...}}`` as DSP0266 describes: a GeneralError wrapping the specific message."""
    general, _, _ = BASE["GeneralError"]
    return {
        "error": {
            "code": f"{REGISTRY}.GeneralError",
            "message": general,
            "@Message.ExtendedInfo": [message(message_id, *args)],
        }
    }
